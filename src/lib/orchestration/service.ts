// Searches as the routes see them: the object that holds each one (its refusals go through unwrap,
// src/lib/platform/refusal.ts), and the models a search names, checked against the LLM router.
import type { SearchRun } from "../../../durable-objects/search";
import { loadRoutes, resolveAlias } from "../llm/config";
import type { Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import type { RpcClient } from "../platform/rpc";
import type { SearchRequest } from "./spec";

export function searchObject(env: Env, id: string): RpcClient<SearchRun> {
  return env.SEARCHES.getByName(id) as unknown as RpcClient<SearchRun>;
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
