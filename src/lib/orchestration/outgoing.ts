// The one place searches check an outgoing URL (the webhook scorer): http(s), no credentials, and the shared
// guard's host rules (src/lib/net/guarded-fetch.ts: no loopback, private or single-label host, trailing dots
// ignored) unless JOBS_INPUT_URL_ALLOW_PRIVATE (docs/security.md).
import { isPrivateHost } from "../net/guarded-fetch";

/** Why the URL may not be called, or null when it may. */
export function outgoingUrlProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not a valid URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be http or https";
  if (url.username || url.password) return "must not carry credentials";
  if (!allowPrivate && isPrivateHost(url.hostname)) return "names a loopback or private address";
  return null;
}
