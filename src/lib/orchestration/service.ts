// Searches as the routes see them: the object that holds each one (its refusals go through unwrap,
// src/lib/platform/refusal.ts).
import type { SearchRun } from "../../../durable-objects/search";
import type { Env } from "../platform/env";
import type { RpcClient } from "../platform/rpc";

export function searchObject(env: Env, id: string): RpcClient<SearchRun> {
  return env.SEARCHES.getByName(id) as unknown as RpcClient<SearchRun>;
}

/**
 * Generation through the LLM router (src/lib/llm/complete.ts, another branch): until it lands, managed searches and
 * the llm-judge scorer answer 503. Switching is this constant and the call in the object's generation step.
 */
export const ROUTER_AVAILABLE = false;
