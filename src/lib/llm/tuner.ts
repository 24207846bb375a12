// The tuner's one Durable Object (durable-objects/llm-tuner.ts explains why it lives there).
import type { Env } from "../platform/env";

export function tuner(env: Env) {
  return env.LLM_TUNER.get(env.LLM_TUNER.idFromName("global"));
}
