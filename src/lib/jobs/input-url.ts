// `{url}` job input: the edge downloads it once at submission, so a worker only ever talks to the edge, through the
// one outgoing-request guard (src/lib/net/guarded-fetch.ts, docs/security.md). Every way the download can fail
// answers the same message, so the answer cannot map hosts or ports.
import { GuardedFetchError, guardedFetch, type NetConfig } from "../net/guarded-fetch";
import { ApiError } from "../platform/errors";

interface UrlInputLimits {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  /** Loopback and private addresses allowed (local development only). */
  allowPrivate: boolean;
}

/** The one answer for a URL that was refused, unreachable, slow, or answered anything but 2xx. */
export const URL_INPUT_FAILED = "input.url could not be fetched";

const invalid = (message: string) =>
  new ApiError("invalid_request", message, {
    issues: [{ path: ["body", "input", "url"], code: "invalid_input", message }],
  });

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

/** Downloads `{url}` input: through guardedFetch, size bounded. */
export async function fetchUrlInput(
  raw: string,
  limits: UrlInputLimits,
  net: NetConfig = {},
): Promise<{ bytes: Uint8Array; mediaType?: string }> {
  let res: Response;
  try {
    res = await guardedFetch(net, raw, {}, limits);
  } catch (error) {
    if (error instanceof GuardedFetchError) throw invalid(URL_INPUT_FAILED);
    throw error;
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw invalid(URL_INPUT_FAILED);
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
