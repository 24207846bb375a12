// Searches as the routes see them: the object that holds each one, and its refusals as API errors.
import type { SearchResult, SearchRun } from "../../../durable-objects/search";
import type { Env } from "../platform/env";
import { ApiError } from "../platform/errors";

/** The object's public methods as callers see them over RPC (plain serialisable data in and out). */
export type SearchClient = {
  [K in keyof SearchRun]: SearchRun[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

export function searchObject(env: Env, id: string): SearchClient {
  return env.SEARCHES.get(env.SEARCHES.idFromName(id)) as unknown as SearchClient;
}

export function unwrapSearch<T>(result: SearchResult<T>): T {
  if (result.ok) return result.value;
  const headers = result.error === "unavailable" ? { "Retry-After": "3600" } : undefined;
  throw new ApiError(result.error, result.message, { headers });
}

/**
 * Generation through the LLM router (src/lib/llm/complete.ts, another branch): until it lands, managed searches and
 * the llm-judge scorer answer 503. Switching is this constant and the call in the object's generation step.
 */
export const ROUTER_AVAILABLE = false;
