// Every request to an LLM provider leaves through this one function, and through the project's outgoing-request
// guard (src/lib/net/guarded-fetch.ts, docs/security.md): a provider on a loopback or private address is refused
// unless its entry in the route table says `allowPrivate` (a self-hosted server the operator runs).
import { guardedFetch, type NetConfig } from "../net/guarded-fetch";

export interface ProviderEgress {
  net: NetConfig;
  /** The provider's `allowPrivate` in LLM_ROUTES. */
  allowPrivate: boolean;
  /** The provider's own deadline (its `timeoutMs`): the guard's bound on the whole exchange. */
  timeoutMs: number;
}

/** A provider answering with a redirect is followed this far, each hop checked again. */
const PROVIDER_MAX_REDIRECTS = 3;

export function providerFetch(url: string, init: RequestInit, egress: ProviderEgress): Promise<Response> {
  return guardedFetch(egress.net, url, init, {
    timeoutMs: egress.timeoutMs,
    maxRedirects: PROVIDER_MAX_REDIRECTS,
    allowPrivate: egress.allowPrivate,
  });
}
