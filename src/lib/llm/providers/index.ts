// The provider behind a target, built once per isolate per configuration.
import type { Env } from "../../platform/env";
import type { ProviderConfig, RoutesConfig } from "../config";
import { LocalProvider } from "./local";
import { OpenAiCompatibleProvider, providerKey } from "./openai-compatible";
import { type LlmProvider, ProviderError } from "./types";

const built = new WeakMap<ProviderConfig, LlmProvider>();

export function providerFor(env: Env, routes: RoutesConfig, name: string): LlmProvider {
  if (name === "local") return new LocalProvider(env);
  const config = routes.providers[name];
  if (!config) throw new ProviderError("unavailable", `provider '${name}' is not configured`);
  const hit = built.get(config);
  if (hit) return hit;
  const key = providerKey(env, config.apiKeySecret);
  const provider =
    config.type === "openai-compatible"
      ? new OpenAiCompatibleProvider(name, config, key)
      : new OpenAiCompatibleProvider(name, huggingFaceAsOpenAi(config), key);
  built.set(config, provider);
  return provider;
}

/** Until the dedicated Hugging Face provider lands: a TGI/vLLM endpoint speaks OpenAI's protocol under /v1. */
function huggingFaceAsOpenAi(config: Extract<ProviderConfig, { type: "huggingface" }>) {
  const base = (config.endpointUrl ?? "https://router.huggingface.co").replace(/\/$/, "");
  return {
    type: "openai-compatible" as const,
    baseUrl: `${base}/v1`,
    timeoutMs: config.timeoutMs,
    apiKeySecret: config.apiKeySecret,
  };
}
