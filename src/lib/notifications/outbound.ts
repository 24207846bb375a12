// The one way webhook requests leave the Worker: through the shared outgoing-request guard (src/lib/net/, the same
// rules as `{url}` job input: names resolved and checked where a resolver is configured), no redirects followed, a
// time limit (docs/security.md).
import { GuardedFetchError, guardedFetch, type NetConfig, outgoingUrlProblem } from "../net/guarded-fetch";

interface OutboundOptions {
  /** Loopback and private addresses allowed (WEBHOOKS_ALLOW_PRIVATE; local development and tests only). */
  allowPrivate: boolean;
  timeoutMs: number;
  /** The resolver the guard checks names with (NET_RESOLVER_URL); none: names are checked as written. */
  net?: NetConfig;
}

/** Why `raw` may not receive webhooks, or null when it may. */
export function webhookUrlProblem(raw: string, allowPrivate: boolean): string | null {
  const problem = outgoingUrlProblem(raw, allowPrivate);
  return problem ? `url ${problem}` : null;
}

/** The outcome of one attempt, with nothing of the receiver's body kept beyond a short excerpt. */
type OutboundResult = { ok: true; status: number } | { ok: false; status: number | null; error: string };

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
    res = await guardedFetch(
      options.net ?? {},
      url,
      { method: "POST", headers, body },
      { timeoutMs: options.timeoutMs, maxRedirects: 0, allowPrivate: options.allowPrivate },
    );
  } catch (err) {
    if (err instanceof GuardedFetchError) return { ok: false, status: null, error: `unreachable (${err.reason})` };
    throw err;
  }
  await res.body?.cancel();
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
  return { ok: false, status: res.status, error: `answered ${res.status}` };
}
