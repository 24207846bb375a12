// The one place searches check an outgoing URL (the webhook scorer). It applies the job-URL rules
// (src/lib/jobs/input-url.ts: http(s), no credentials, no loopback or private address unless
// JOBS_INPUT_URL_ALLOW_PRIVATE); when the shared outgoing-request guard lands in src/lib/net/, this is the line to switch.
import { isPrivateHost } from "../jobs/input-url";

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
