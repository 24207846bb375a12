// The in-process entry point to the LLM router (docs/llm.md): the HTTP routes call it, and so do other services
// (orchestration, fusion). Same route table, fallbacks, breakers, cache, usage, budgets and tuning either way.
import type { Env } from "../platform/env";
import { parseInput } from "../platform/validate";
import { cachedCompletion, cacheKey, isDeterministic, storeCompletion } from "./cache";
import { type AliasConfig, loadRoutes, type RoutesConfig, resolveAlias, type TargetConfig } from "./config";
import {
  type ChatCompletion,
  type ChatCompletionChunk,
  ChatCompletionRequest,
  type ParsedChatRequest,
  type SamplingParams,
  type Usage,
  usageOf,
} from "./openai-shapes";
import { type ProviderChatRequest, ProviderError } from "./providers/types";
import { llmLog, type RouteContext, route } from "./router";
import { encodeText, SSE_DONE, sseEvent, sseText } from "./sse";
import { tuner } from "./tuner";
import { applyPreset, classifyTask, type Outcome, PRESETS, promptText } from "./tuning";
import { costUsd, enforceBudget, queueUsage, type UsageRow } from "./usage";

/** What the LLM code needs of the request's ExecutionContext: somewhere to hand the usage writes. */
export type WaitUntil = Pick<ExecutionContext, "waitUntil">;

export interface LlmCaller {
  /** A user's id, or a service credential's `svc_…` id when a credential calls without a user. */
  userId: string;
  credentialId?: string;
  roles: string[];
}

interface CompleteOptions {
  signal?: AbortSignal;
  /** Skip the completion cache (Cache-Control: no-cache on the HTTP route). */
  noCache?: boolean;
  /** The request is the output of ChatCompletionRequest already (the HTTP route's body): not parsed again. */
  parsed?: boolean;
}

type CacheStatus = "hit" | "miss" | "bypass";

/** What the HTTP route tells its caller beside the body (headers). */
export interface ChatMeta {
  completionId: string;
  cache: CacheStatus;
  /** `provider/model` that answered, when one did. */
  target?: string;
  /** The tuner's preset, for `params: "auto"`. */
  preset?: string;
}

interface Prepared {
  env: Env;
  ctx: WaitUntil;
  caller: LlmCaller;
  request: ParsedChatRequest;
  routes: RoutesConfig;
  alias: AliasConfig;
  completionId: string;
  started: number;
  tuned?: { preset: string; params: SamplingParams };
  signal: AbortSignal;
}

/** Characters per token for estimates when a provider reports no usage (a cut stream, a bare server). */
const CHARS_PER_TOKEN = 4;
const estimateTokens = (text: string) => Math.ceil(text.length / CHARS_PER_TOKEN);

function dropNulls<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;
}

async function prepare(
  env: Env,
  ctx: WaitUntil,
  caller: LlmCaller,
  raw: ChatCompletionRequest | ParsedChatRequest,
  options: CompleteOptions,
): Promise<Prepared> {
  const request = options.parsed ? (raw as ParsedChatRequest) : parseInput(ChatCompletionRequest, raw, "body");
  const { routes } = await loadRoutes(env);
  const alias = resolveAlias(routes, request.model, caller.roles, "chat");
  await enforceBudget(env, caller.userId, routes.dailyTokenBudget);
  const completionId = `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`;
  const prepared: Prepared = {
    env,
    ctx,
    caller,
    request,
    routes,
    alias,
    completionId,
    started: performance.now(),
    signal: options.signal ?? new AbortController().signal,
  };
  if (request.tessera?.params === "auto") {
    const task = request.tessera.task ?? classifyTask(promptText(request));
    const { index, preset } = await tuner(env).pick(task, request.model, completionId, caller.userId);
    const chosen = PRESETS[index];
    if (chosen) prepared.tuned = { preset, params: applyPreset(request, chosen) };
  }
  return prepared;
}

/** The request a target gets: its default params, then the caller's, then the tuner's, and its own model name. */
function providerRequest(p: Prepared, t: TargetConfig): ProviderChatRequest {
  const { tessera: _t, stream: _s, stream_options: _o, ...rest } = p.request;
  const body: ProviderChatRequest = {
    ...t.params,
    ...dropNulls(rest),
    ...p.tuned?.params,
    messages: rest.messages,
    model: t.model,
  };
  // One token cap: a caller's max_completion_tokens (the newer name) carries the tuned cap when both are set.
  if (typeof body.max_completion_tokens === "number" && typeof body.max_tokens === "number") {
    body.max_completion_tokens = Math.min(body.max_completion_tokens, body.max_tokens);
    delete body.max_tokens;
  }
  return body;
}

function routeContext(p: Prepared): RouteContext {
  return { env: p.env, ctx: p.ctx, routes: p.routes, signal: p.signal };
}

function record(p: Prepared, row: Omit<UsageRow, "completionId" | "userId" | "credentialId" | "kind" | "alias">): void {
  const full: UsageRow = {
    completionId: p.completionId,
    userId: p.caller.userId,
    credentialId: p.caller.credentialId ?? null,
    kind: "chat",
    alias: p.request.model,
    ...row,
  };
  queueUsage(p.env, p.ctx, full, (err) => llmLog(p.env).error("llm usage not recorded", { error: String(err) }));
}

function reportOutcome(p: Prepared, outcome: Outcome): void {
  if (!p.tuned) return;
  p.ctx.waitUntil(
    tuner(p.env)
      .outcome(p.completionId, outcome)
      .catch((err: unknown) => llmLog(p.env).warn("llm tuning outcome lost", { error: String(err) })),
  );
}

function elapsed(p: Prepared): number {
  return Math.round(performance.now() - p.started);
}

function promptEstimate(request: ParsedChatRequest): number {
  return estimateTokens(JSON.stringify(request.messages));
}

/** A whole completion, with the cache status and the target that answered. */
export async function runChat(
  env: Env,
  ctx: WaitUntil,
  caller: LlmCaller,
  raw: ChatCompletionRequest | ParsedChatRequest,
  options: CompleteOptions = {},
): Promise<{ completion: ChatCompletion; meta: ChatMeta }> {
  const p = await prepare(env, ctx, caller, raw, options);
  const cacheable = !p.tuned && isDeterministic(p.request);
  const key = cacheable ? await cacheKey(p.request.model, p.request) : undefined;
  if (key && !options.noCache) {
    const hit = await cachedCompletion(env.MEMORY, key);
    if (hit) {
      record(p, {
        provider: null,
        model: hit.model,
        promptTokens: hit.usage.prompt_tokens,
        completionTokens: hit.usage.completion_tokens,
        latencyMs: elapsed(p),
        cacheHit: true,
        status: "ok",
      });
      return { completion: { ...hit, id: p.completionId }, meta: { completionId: p.completionId, cache: "hit" } };
    }
  }
  let served: Awaited<ReturnType<typeof route<ChatCompletion>>>;
  try {
    served = await route(routeContext(p), p.alias, (provider, t, signal) =>
      provider.chat(providerRequest(p, t), signal),
    );
  } catch (err) {
    record(p, { latencyMs: elapsed(p), status: "error" });
    reportOutcome(p, { kind: "error" });
    throw err;
  }
  const upstream = served.value;
  const usage: Usage = upstream.usage ?? usageOf(promptEstimate(p.request), estimateTokens(contentOf(upstream)));
  const completion: ChatCompletion = { ...upstream, id: p.completionId, object: "chat.completion", usage };
  record(p, {
    provider: served.target.provider,
    model: served.target.model,
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    costUsd: costUsd(served.target.price, usage.prompt_tokens, usage.completion_tokens),
    latencyMs: elapsed(p),
    status: "ok",
  });
  reportOutcome(p, { kind: "latency", ms: served.latencyMs });
  if (key) ctx.waitUntil(storeCompletion(env.MEMORY, key, completion, p.routes.cacheTtlSeconds));
  return {
    completion,
    meta: {
      completionId: p.completionId,
      cache: key ? (options.noCache ? "bypass" : "miss") : "bypass",
      target: served.handle.id,
      ...(p.tuned ? { preset: p.tuned.preset } : {}),
    },
  };
}

function contentOf(completion: ChatCompletion): string {
  return completion.choices.map((c) => c.message.content ?? "").join("");
}

/**
 * A chat completion through the router, in OpenAI's shape with usage. Throws ApiError (invalid_request,
 * not_found for an unknown alias, budget_exceeded, rate_limited, unavailable with Retry-After, …).
 */
export async function completeChat(
  env: Env,
  ctx: WaitUntil,
  caller: LlmCaller,
  request: ChatCompletionRequest,
  options?: CompleteOptions,
): Promise<ChatCompletion> {
  return (await runChat(env, ctx, caller, request, options)).completion;
}

/**
 * A streamed completion as OpenAI's SSE bytes, ending in `data: [DONE]`. Resolves once a target has sent its first
 * chunk (earlier failures fall back); after that a failure ends the stream with an error event, never a retry.
 * Usage is recorded when the stream ends, also when the client cuts it (status `aborted`, tokens estimated from
 * what was sent when the provider had not yet reported them).
 */
export async function streamChat(
  env: Env,
  ctx: WaitUntil,
  caller: LlmCaller,
  raw: ChatCompletionRequest | ParsedChatRequest,
  options: CompleteOptions = {},
): Promise<{ body: ReadableStream<Uint8Array>; meta: ChatMeta }> {
  // Our own controller: cancelling the client stream aborts the provider's request even if the caller's signal lives on.
  const abort = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;
  const p = await prepare(env, ctx, caller, raw, { ...options, signal });
  let served: Awaited<
    ReturnType<typeof route<{ it: AsyncIterator<ChatCompletionChunk[]>; first: ChatCompletionChunk[] }>>
  >;
  try {
    served = await route(routeContext(p), p.alias, async (provider, t, sig) => {
      const it = (await provider.stream(providerRequest(p, t), sig))[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || !first.value[0]) {
        throw new ProviderError("server", `provider '${t.provider}' sent an empty stream`);
      }
      return { it, first: first.value };
    });
  } catch (err) {
    record(p, { latencyMs: elapsed(p), status: "error" });
    reportOutcome(p, { kind: "error" });
    throw err;
  }
  const { it, first } = served.value;
  const head = first[0] as ChatCompletionChunk;
  const t = served.target;
  const includeUsage = p.request.stream_options?.include_usage === true;
  let sentChars = 0;
  let upstreamUsage: Usage | undefined;
  let finished = false;
  let resolveDone: (status: "ok" | "error" | "aborted") => void = () => {};
  const done = new Promise<"ok" | "error" | "aborted">((resolve) => {
    resolveDone = resolve;
  });
  ctx.waitUntil(
    done.then((status) => {
      const usage = upstreamUsage ?? usageOf(promptEstimate(p.request), Math.ceil(sentChars / CHARS_PER_TOKEN));
      record(p, {
        provider: t.provider,
        model: t.model,
        promptTokens: usage.prompt_tokens,
        completionTokens: usage.completion_tokens,
        costUsd: costUsd(t.price, usage.prompt_tokens, usage.completion_tokens),
        latencyMs: elapsed(p),
        status,
      });
      reportOutcome(p, status === "error" ? { kind: "error" } : { kind: "latency", ms: served.latencyMs });
    }),
  );
  const finish = (status: "ok" | "error" | "aborted") => {
    if (finished) return;
    finished = true;
    resolveDone(status);
  };
  /** One batch of the provider's chunks as one write: our id on each, the provider's usage chunk held back. */
  const relay = (batch: ChatCompletionChunk[]): string => {
    let text = "";
    for (const chunk of batch) {
      if (chunk.usage) upstreamUsage = chunk.usage;
      if (!chunk.choices?.length) continue; // the provider's usage chunk: ours goes out at the end
      for (const choice of chunk.choices) {
        sentChars += choice.delta?.content?.length ?? 0;
        for (const call of choice.delta?.tool_calls ?? []) sentChars += call.function?.arguments?.length ?? 0;
      }
      text += sseText({ ...chunk, id: p.completionId, object: "chat.completion.chunk", usage: undefined });
    }
    return text;
  };
  let pending: ChatCompletionChunk[] | undefined = first;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const batch = pending ?? (await nextBatch(it));
          pending = undefined;
          if (!batch) break;
          const text = relay(batch);
          if (text) {
            controller.enqueue(encodeText(text));
            return;
          }
        }
        if (includeUsage) {
          const usage = upstreamUsage ?? usageOf(promptEstimate(p.request), Math.ceil(sentChars / CHARS_PER_TOKEN));
          upstreamUsage = usage;
          controller.enqueue(
            sseEvent({
              id: p.completionId,
              object: "chat.completion.chunk",
              created: head.created,
              model: head.model,
              choices: [],
              usage,
            }),
          );
        }
        controller.enqueue(SSE_DONE);
        controller.close();
        finish("ok");
      } catch (err) {
        if (signal.aborted) {
          finish("aborted");
          controller.error(err);
          return;
        }
        llmLog(env).warn("llm stream cut by provider", { target: served.handle.id, error: String(err) });
        served.handle.failed(`provider '${t.provider}' cut the stream`, true);
        controller.enqueue(
          sseEvent({ error: { code: "upstream_error", type: "api_error", message: "The provider cut the stream" } }),
        );
        controller.close();
        finish("error");
      }
    },
    async cancel() {
      finish("aborted");
      abort.abort();
      await it.return?.();
    },
  });
  return {
    body,
    meta: {
      completionId: p.completionId,
      cache: "bypass",
      target: served.handle.id,
      ...(p.tuned ? { preset: p.tuned.preset } : {}),
    },
  };
}

async function nextBatch(it: AsyncIterator<ChatCompletionChunk[]>): Promise<ChatCompletionChunk[] | undefined> {
  const next = await it.next();
  return next.done ? undefined : next.value;
}
