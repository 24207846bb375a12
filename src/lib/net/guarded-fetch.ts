// The one guard for every outgoing request whose URL a user or an operator's table chose: job `{url}` input,
// webhooks, the search scorer webhook and LLM providers (docs/security.md). It refuses loopback, private, link-local and
// internal hosts by name and by address literal (the WHATWG URL parser has already turned 2130706433, 0x7f.1 and
// 127.1 into 127.0.0.1), ignores a trailing dot (`localhost.`), refuses single-label names (a search domain or
// /etc/hosts entry can make them internal), resolves the name through a DNS-over-HTTPS JSON resolver when one is
// configured (NET_RESOLVER_URL) and refuses it when any address it resolves to is private, follows redirects by
// hand checking each hop, and bounds the whole exchange in time. Every refusal and every network failure is the
// same GuardedFetchError, so a caller's answer cannot map ports or hosts.
interface GuardedFetchLimits {
  timeoutMs: number;
  maxRedirects: number;
  /** Loopback and private addresses allowed (local development only). */
  allowPrivate: boolean;
}

export interface NetConfig {
  /** A DNS-over-HTTPS endpoint speaking the JSON API (`?name=&type=`, application/dns-json); unset: no resolution. */
  resolverUrl?: string;
}

/** Why a URL was not fetched, for the log only: callers answer one generic message whatever the reason. */
export class GuardedFetchError extends Error {
  constructor(readonly reason: string) {
    super(`the URL could not be fetched (${reason})`);
    this.name = "GuardedFetchError";
  }
}

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
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

function privateAddress(address: string): boolean {
  const host = address.toLowerCase().replace(/^\[|\]$/g, "");
  if (privateIPv4(host)) return true;
  if (!host.includes(":")) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  if (mapped?.[1]) return privateIPv4(mapped[1]);
  return host === "::" || host === "::1" || /^f[cd]/.test(host) || /^fe[89ab]/.test(host) || host.startsWith("::ffff:");
}

/** The host as the network will see it: lower case, without the trailing dot(s) that name the DNS root. */
function normalizedHost(hostname: string): string {
  return hostname.toLowerCase().replace(/\.+$/, "");
}

/** Whether the host is this machine or a private network by name or address literal (no resolution). */
export function isPrivateHost(hostname: string): boolean {
  const host = normalizedHost(hostname).replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal") || host.endsWith(".local")) {
    return true;
  }
  if (privateAddress(host)) return true;
  // A single label (`intranet`, `vm`) is completed by search domains or /etc/hosts: never a public name.
  return !host.includes(".") && !host.includes(":");
}

const isAddressLiteral = (host: string) => /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith("[");

/** The addresses `host` resolves to, by the configured DNS-over-HTTPS resolver (A and AAAA). */
async function resolve(resolverUrl: string, host: string, signal: AbortSignal): Promise<string[]> {
  const addresses: string[] = [];
  for (const type of ["A", "AAAA"] as const) {
    const url = new URL(resolverUrl);
    url.searchParams.set("name", host);
    url.searchParams.set("type", type);
    let answer: { Status?: number; Answer?: { type: number; data: string }[] };
    try {
      const res = await fetch(url, { headers: { accept: "application/dns-json" }, signal });
      if (!res.ok) throw new Error(`resolver answered ${res.status}`);
      answer = await res.json();
    } catch (error) {
      throw new GuardedFetchError(`name resolution failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    for (const record of answer.Answer ?? []) if (record.type === 1 || record.type === 28) addresses.push(record.data);
  }
  return addresses;
}

async function checkUrl(raw: string, net: NetConfig, limits: GuardedFetchLimits, signal: AbortSignal): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new GuardedFetchError("not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new GuardedFetchError("not http or https");
  if (url.username || url.password) throw new GuardedFetchError("credentials in the URL");
  if (limits.allowPrivate) return url;
  const host = normalizedHost(url.hostname);
  if (isPrivateHost(host)) throw new GuardedFetchError("a private host");
  if (net.resolverUrl && !isAddressLiteral(host)) {
    const addresses = await resolve(net.resolverUrl, host, signal);
    if (addresses.length === 0) throw new GuardedFetchError("the name does not resolve");
    if (addresses.some(privateAddress)) throw new GuardedFetchError("the name resolves to a private address");
  }
  url.hostname = host;
  return url;
}

/**
 * Fetches a user-chosen URL under the rules above; answers the final response (after redirects) with its body
 * unread. Throws GuardedFetchError for every refusal, failure or timeout. A non-2xx answer is returned as it is:
 * callers that must not reveal it (a port scan) treat it as the same error.
 */
export async function guardedFetch(
  net: NetConfig,
  raw: string,
  init: Omit<RequestInit, "redirect">,
  limits: GuardedFetchLimits,
): Promise<Response> {
  // The caller's own signal (a client hanging up) ends the exchange too; a timeout is still ours.
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  let url = await checkUrl(raw, net, limits, signal);
  for (let hop = 0; ; hop++) {
    let res: Response;
    try {
      res = await fetch(url, { ...init, redirect: "manual", signal });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new GuardedFetchError(signal.aborted ? "timed out" : `no answer (${String(error)})`);
    }
    const location = res.headers.get("location");
    if (res.status < 300 || res.status >= 400 || !location) return res;
    await res.body?.cancel();
    if (hop >= limits.maxRedirects) throw new GuardedFetchError("too many redirects");
    url = await checkUrl(new URL(location, url).href, net, limits, signal);
  }
}

/**
 * Why a user-chosen URL may not be called, or null when it may: http(s), no credentials, and (unless
 * `allowPrivate`) the host rules above, as written (no resolution: the call itself goes through guardedFetch).
 * For refusing a URL when it is configured (a webhook, a scorer), before any request.
 */
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
