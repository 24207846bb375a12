// The completion cache (docs/llm.md "Cache"): a deterministic request (temperature 0 or a seed) is answered from KV
// when the same canonical request was answered before. Keyed by a SHA-256 of the canonical JSON (keys sorted), so
// field order never splits the cache; shared across callers, since the same request yields the same answer.
import { sha256Hex } from "../identity/tokens";
import type { ChatCompletion, ParsedChatRequest } from "./openai-shapes";

const PREFIX = "llm:cache:";

/** JSON with object keys sorted at every depth; undefined fields dropped. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function isDeterministic(request: Pick<ParsedChatRequest, "temperature" | "seed">): boolean {
  return request.temperature === 0 || (request.seed !== undefined && request.seed !== null);
}

export async function cacheKey(alias: string, request: ParsedChatRequest): Promise<string> {
  const { stream: _s, stream_options: _o, user: _u, tessera: _t, ...rest } = request;
  return PREFIX + (await sha256Hex(canonicalJson({ ...rest, model: alias })));
}

export async function cachedCompletion(kv: KVNamespace, key: string): Promise<ChatCompletion | null> {
  return kv.get<ChatCompletion>(key, "json");
}

export async function storeCompletion(kv: KVNamespace, key: string, completion: ChatCompletion, ttl: number) {
  await kv.put(key, JSON.stringify(completion), { expirationTtl: ttl });
}
