// Searches as the routes see them: the object that holds each one, and its refusals as API errors.
import type { SearchResult, SearchRun } from "../../../durable-objects/search";
import { loadRoutes, resolveAlias } from "../llm/config";
import type { Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import type { SearchRequest } from "./spec";

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
 * Managed mode and the llm-judge scorer call the router as the search's owner: every model named must be a chat
 * alias the owner may use, checked when the search is created (400 naming the field), not at its first step.
 */
export async function checkModels(env: Env, request: SearchRequest, roles: readonly string[]): Promise<void> {
  const named: { model: string; path: (string | number)[] }[] = [];
  if (request.mode === "managed") {
    for (const [i, model] of request.models.entries()) named.push({ model, path: ["body", "models", i] });
  }
  if (request.scorer.type === "llm-judge") {
    named.push({ model: request.scorer.model, path: ["body", "scorer", "model"] });
  }
  if (!named.length) return;
  const { routes } = await loadRoutes(env);
  for (const { model, path } of named) {
    try {
      resolveAlias(routes, model, roles, "chat");
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const message = `${model} is not an LLM router chat model you may use (${err.message})`;
      throw new ApiError("invalid_request", message, { issues: [{ path, code: "unknown_model", message }] });
    }
  }
}
