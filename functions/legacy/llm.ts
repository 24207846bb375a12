// The old parameter service's routes (POST /api/v1/parameters, POST /api/v1/feedback, GET /api/v1/analytics) and
// the old LLM coordinator's LLMRequest → LLMResponse (POST /api/v1/llm), in their shapes, over the new router and
// tuner (docs/llm.md "Legacy adapters"). Its bugs are not kept: feedback updates the posterior the parameters are
// drawn from, and nothing is answered from a cache unless the request is deterministic.
import { avg, eq } from "drizzle-orm";
import { z } from "zod";
import { db } from "../../src/lib/db/client";
import { llmUsage } from "../../src/lib/db/schema";
import { runChat } from "../../src/lib/llm/complete";
import { ChatMessage } from "../../src/lib/llm/openai-shapes";
import { tuner } from "../../src/lib/llm/tuner";
import { classifyTask, PRESETS, TASKS } from "../../src/lib/llm/tuning";
import { ApiError } from "../../src/lib/platform/errors";
import { ApiRouter } from "../../src/lib/platform/router";
import { llmCaller } from "../llm";

const LLM_ACCESS = { scope: "llm", orUser: true } as const;
const Range = z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo <= hi, "min must not exceed max");

const ParametersRequest = z.object({
  id: z.string().min(1).max(128).optional(),
  model: z.string().min(1).max(256),
  prompt: z.string().max(200_000),
  context: z.unknown().optional(),
  user_preferences: z.record(z.string(), z.unknown()).optional(),
  constraints: z
    .object({
      temperature_range: Range.optional(),
      top_p_range: Range.optional(),
      max_tokens_limit: z.number().int().min(1).optional(),
      presence_penalty_range: Range.optional(),
      frequency_penalty_range: Range.optional(),
    })
    .optional(),
});

const clip = (value: number, range: [number, number] | undefined) =>
  range ? Math.min(range[1], Math.max(range[0], value)) : value;

const LlmRequest = z.object({
  model: z.string().min(1).max(256),
  messages: z.array(ChatMessage).min(1),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().min(1).optional(),
  stream: z.literal(false).optional(),
  user_id: z.string().optional(),
  context_id: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export const legacyLlmService = new ApiRouter("legacy-llm")
  .route(
    {
      method: "post",
      path: "/parameters",
      auth: LLM_ACCESS,
      summary: "Old parameter service: sampling parameters for a prompt, drawn by the tuner (feedback by `id`)",
      body: ParametersRequest,
      responses: { 200: { description: "Parameters in the old shape" } },
    },
    async (c, { body }) => {
      const task = classifyTask(body.prompt);
      const id = body.id ?? crypto.randomUUID();
      const { index, preset } = await tuner(c.env).pick(task, body.model, id, llmCaller(c).userId);
      const params = (PRESETS[index] ?? PRESETS[0])?.params;
      if (!params) throw new ApiError("internal", "No presets");
      const k = body.constraints;
      return c.json({
        id,
        temperature: clip(params.temperature, k?.temperature_range),
        top_p: clip(params.top_p, k?.top_p_range),
        max_tokens: Math.min(params.max_tokens, k?.max_tokens_limit ?? params.max_tokens),
        presence_penalty: clip(params.presence_penalty, k?.presence_penalty_range),
        frequency_penalty: clip(params.frequency_penalty, k?.frequency_penalty_range),
        stop_sequences: [],
        confidence: null,
        reasoning: [`task classified as ${task}`, `preset '${preset}' drawn by Thompson sampling`],
        expected_quality: null,
        expected_latency_ms: null,
      });
    },
  )
  .route(
    {
      method: "get",
      path: "/analytics",
      auth: LLM_ACCESS,
      summary: "Old parameter service: what the tuner has learned, in the old analytics shape",
      responses: { 200: { description: "Analytics" } },
    },
    async (c) => {
      const state = await tuner(c.env).snapshot();
      const [latency] = await db(c.env)
        .select({ ms: avg(llmUsage.latencyMs) })
        .from(llmUsage)
        .where(eq(llmUsage.userId, llmCaller(c).userId));
      let pulls = 0;
      let scored = 0;
      let quality = 0;
      const tasks: Record<string, number> = Object.fromEntries(TASKS.map((t) => [t, 0]));
      const presets: Record<string, { pulls: number; mean: number }> = {};
      const models: Record<string, { pulls: number; best_preset: string | null }> = {};
      for (const entry of state) {
        let best: { preset: string; mean: number } | null = null;
        for (const arm of entry.arms) {
          pulls += arm.pulls;
          scored += arm.feedback;
          quality += arm.alpha - 1; // the sum of feedback scores and latency credit
          tasks[entry.task] = (tasks[entry.task] ?? 0) + arm.pulls;
          const p = presets[arm.preset] ?? { pulls: 0, mean: 0 };
          presets[arm.preset] = { pulls: p.pulls + arm.pulls, mean: Math.max(p.mean, arm.mean) };
          if (arm.pulls && (!best || arm.mean > best.mean)) best = { preset: arm.preset, mean: arm.mean };
        }
        const m = models[entry.model] ?? { pulls: 0, best_preset: null };
        models[entry.model] = {
          pulls: m.pulls + entry.arms.reduce((n, a) => n + a.pulls, 0),
          best_preset: best?.preset ?? m.best_preset,
        };
      }
      return c.json({
        total_requests: pulls,
        avg_quality_score: scored ? Math.min(1, quality / scored) : null,
        avg_latency_ms: latency?.ms === null || latency?.ms === undefined ? null : Number(latency.ms),
        task_distribution: tasks,
        parameter_effectiveness: presets,
        model_performance: models,
      });
    },
  )
  .route(
    {
      method: "post",
      path: "/llm",
      auth: LLM_ACCESS,
      summary: "Old LLM coordinator: LLMRequest → LLMResponse, through the router",
      body: LlmRequest,
      timeoutMs: 300_000,
      responses: { 200: { description: "LLMResponse" } },
    },
    async (c, { body }) => {
      const started = performance.now();
      const { completion, meta } = await runChat(
        c.env,
        c.executionCtx,
        llmCaller(c),
        { model: body.model, messages: body.messages, temperature: body.temperature, max_tokens: body.max_tokens },
        { signal: c.req.raw.signal },
      );
      const choice = completion.choices[0];
      return c.json({
        content: choice?.message.content ?? "",
        model: completion.model,
        provider: meta.target?.split("/")[0] ?? null,
        tokens_used: completion.usage,
        execution_time_ms: Math.round(performance.now() - started),
        finish_reason: choice?.finish_reason ?? null,
        confidence: null,
        metadata: { completion_id: completion.id, cache: meta.cache, context_id: body.context_id ?? null },
      });
    },
  );
