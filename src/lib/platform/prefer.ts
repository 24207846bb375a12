// RFC 7240's `Prefer: wait=N`: how long a client is willing to wait for an asynchronous result before it takes a
// 202 and a link instead. Out-of-range or malformed values fall back, never fail, as the RFC asks of preferences.
export function preferredWaitMs(header: string | undefined, defaultMs: number, maxMs: number): number {
  const match = /(?:^|[,;\s])wait\s*=\s*"?(\d{1,6})"?/i.exec(header ?? "");
  if (!match) return defaultMs;
  return Math.min(Number(match[1]) * 1000, maxMs);
}
