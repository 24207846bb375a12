// The provider behind a target, built once per isolate per configuration.
import { type Env, getConfig } from "../../platform/env";
import type { ProviderConfig, RoutesConfig } from "../config";
import { HuggingFaceProvider } from "./huggingface";
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
  const egress = {
    net: { resolverUrl: getConfig(env).netResolverUrl },
    allowPrivate: config.allowPrivate,
    timeoutMs: config.timeoutMs,
  };
  const provider =
    config.type === "openai-compatible"
      ? new OpenAiCompatibleProvider(name, config, key, egress)
      : new HuggingFaceProvider(name, config, key, egress);
  built.set(config, provider);
  return provider;
}
