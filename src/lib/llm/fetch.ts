// Every request to a user-configured LLM provider leaves through this one function, so that putting it behind
// the project's outbound-address guard (SSRF) is a one-line change here when that guard lands.
export function providerFetch(url: string, init: RequestInit): Promise<Response> {
  return fetch(url, init);
}
