// `{url}` job input: the edge downloads it once at submission, so a worker only ever talks to the edge, through the
// one outgoing-request guard (src/lib/net/guarded-fetch.ts, docs/security.md). Every way the download can fail
// answers the same message, so the answer cannot map hosts or ports.
import { GuardedFetchError, guardedFetch, type NetConfig } from "../net/guarded-fetch";
import { readCapped } from "../net/read-capped";
import { ApiError } from "../platform/errors";

interface UrlInputLimits {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  /** Loopback and private addresses allowed (local development only). */
  allowPrivate: boolean;
}

/** The one answer for a URL that was refused, unreachable, slow, or answered anything but 2xx. */
const URL_INPUT_FAILED = "input.url could not be fetched";

const invalid = (message: string) =>
  new ApiError("invalid_request", message, {
    issues: [{ path: ["body", "input", "url"], code: "invalid_input", message }],
  });

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
  if (!bytes) throw new ApiError("payload_too_large", `A job's input is at most ${limits.maxBytes} bytes`);
  return { bytes, mediaType: contentType && contentType !== "application/octet-stream" ? contentType : undefined };
}
