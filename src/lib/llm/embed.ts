// Embeddings through the router: an alias of kind "embeddings", the same fallbacks, breakers, usage and budgets.
import type { Env } from "../platform/env";
import { parseInput } from "../platform/validate";
import type { LlmCaller, WaitUntil } from "./complete";
import { loadRoutes, resolveAlias } from "./config";
import { EmbeddingRequest, type EmbeddingResponse } from "./openai-shapes";
import { llmLog, route } from "./router";
import { costUsd, enforceBudget, queueUsage, type UsageRow } from "./usage";

export async function embed(
  env: Env,
  ctx: WaitUntil,
  caller: LlmCaller,
  raw: unknown,
  signal: AbortSignal = new AbortController().signal,
): Promise<EmbeddingResponse> {
  const request = parseInput(EmbeddingRequest, raw, "body");
  const { routes } = await loadRoutes(env);
  const alias = resolveAlias(routes, request.model, caller.roles, "embeddings");
  await enforceBudget(env, caller.userId, routes.dailyTokenBudget);
  const input = typeof request.input === "string" ? [request.input] : request.input;
  const started = performance.now();
  const base = {
    completionId: `emb-${crypto.randomUUID().replaceAll("-", "")}`,
    userId: caller.userId,
    credentialId: caller.credentialId ?? null,
    kind: "embeddings" as const,
    alias: request.model,
  };
  const write = (row: UsageRow) =>
    queueUsage(env, ctx, row, (err) => llmLog(env).error("llm usage not recorded", { error: String(err) }));
  try {
    const served = await route({ env, ctx, routes, signal }, alias, (provider, t, sig) =>
      provider.embed({ model: t.model, input, ...(request.dimensions ? { dimensions: request.dimensions } : {}) }, sig),
    );
    const prompt = served.value.usage?.prompt_tokens ?? Math.ceil(input.join("").length / 4);
    write({
      ...base,
      provider: served.target.provider,
      model: served.target.model,
      promptTokens: prompt,
      costUsd: costUsd(served.target.price, prompt, 0),
      latencyMs: Math.round(performance.now() - started),
      status: "ok",
    });
    return {
      object: "list",
      data: served.value.data,
      model: served.value.model ?? served.target.model,
      usage: { prompt_tokens: prompt, total_tokens: prompt },
    };
  } catch (err) {
    write({ ...base, latencyMs: Math.round(performance.now() - started), status: "error" });
    throw err;
  }
}
