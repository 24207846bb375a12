// The one way webhook requests leave the Worker: the same address rules as `{url}` job input (src/lib/jobs/
// input-url.ts), no redirects followed, a time limit. When the shared outgoing-request guard lands in src/lib/net/,
// this file is the only place to switch to it.
import { isPrivateHost } from "../jobs/input-url";

export interface OutboundOptions {
  /** Loopback and private addresses allowed (WEBHOOKS_ALLOW_PRIVATE; local development and tests only). */
  allowPrivate: boolean;
  timeoutMs: number;
}

/** Why `raw` may not receive webhooks, or null when it may. */
export function webhookUrlProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "url is not a valid URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "url must be http or https";
  if (url.username || url.password) return "url must not carry credentials";
  if (!allowPrivate && isPrivateHost(url.hostname)) return "url names a loopback or private address";
  return null;
}

/** The outcome of one attempt, with nothing of the receiver's body kept beyond a short excerpt. */
export type OutboundResult = { ok: true; status: number } | { ok: false; status: number | null; error: string };

/** POSTs `body` to `url`; a redirect counts as a failure (a receiver must answer at the address it gave). */
export async function postOutbound(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: OutboundOptions,
): Promise<OutboundResult> {
  const problem = webhookUrlProblem(url, options.allowPrivate);
  if (problem) return { ok: false, status: null, error: problem };
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return { ok: false, status: null, error: timedOut ? `no answer within ${options.timeoutMs} ms` : "unreachable" };
  }
  await res.body?.cancel();
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
  return { ok: false, status: res.status, error: `answered ${res.status}` };
}
