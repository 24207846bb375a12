// `{url}` job input: the edge downloads it once at submission, so a worker only ever talks to the edge. The guards
// keep a user from pointing the edge at itself or an internal address (DNS names that resolve to private addresses
// cannot be checked from a Worker; Cloudflare's network does not route to them in production).
import { ApiError } from "../platform/errors";

interface UrlInputLimits {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  /** Loopback and private addresses allowed (local development only). */
  allowPrivate: boolean;
}

const invalid = (message: string) =>
  new ApiError("invalid_request", message, {
    issues: [{ path: ["body", "input", "url"], code: "invalid_input", message }],
  });

function privateIPv4(host: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    a >= 224
  );
}

/** Whether the URL's host is this machine or a private network, by name or by address literal. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal")) return true;
  if (privateIPv4(host)) return true;
  if (!host.includes(":")) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  if (mapped?.[1]) return privateIPv4(mapped[1]);
  return host === "::" || host === "::1" || /^f[cd]/.test(host) || /^fe[89ab]/.test(host) || host.startsWith("::ffff:");
}

function checkUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid("input.url is not a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw invalid("input.url must be http or https");
  if (url.username || url.password) throw invalid("input.url must not carry credentials");
  if (!allowPrivate && isPrivateHost(url.hostname)) {
    throw invalid("input.url names a loopback or private address");
  }
  return url;
}

/** Reads a body up to `max` bytes; one byte more is 413, without reading the rest. */
async function readCapped(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new ApiError("payload_too_large", `A job's input is at most ${max} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Downloads `{url}` input: redirects followed (and checked) by hand, size and time bounded. */
export async function fetchUrlInput(
  raw: string,
  limits: UrlInputLimits,
): Promise<{ bytes: Uint8Array; mediaType?: string }> {
  let url = checkUrl(raw, limits.allowPrivate);
  const signal = AbortSignal.timeout(limits.timeoutMs);
  for (let hop = 0; ; hop++) {
    let res: Response;
    try {
      res = await fetch(url, { redirect: "manual", signal });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      throw invalid(
        timedOut ? `input.url did not answer within ${limits.timeoutMs} ms` : "input.url could not be fetched",
      );
    }
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      if (hop >= limits.maxRedirects) throw invalid(`input.url redirected more than ${limits.maxRedirects} times`);
      url = checkUrl(new URL(location, url).href, limits.allowPrivate);
      continue;
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw invalid(`input.url answered ${res.status}`);
    }
    const length = Number(res.headers.get("content-length") ?? "0");
    if (length > limits.maxBytes) {
      await res.body.cancel();
      throw new ApiError("payload_too_large", `A job's input is at most ${limits.maxBytes} bytes`);
    }
    const contentType = res.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
    const bytes = await readCapped(res.body, limits.maxBytes);
    return { bytes, mediaType: contentType && contentType !== "application/octet-stream" ? contentType : undefined };
  }
}
