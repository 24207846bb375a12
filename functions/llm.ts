// The OpenAI-compatible LLM API and its admin routes (docs/llm.md): chat completions (streamed or not), models,
// embeddings, usage, feedback for the tuner; route overrides, breaker state and tuning for admins.
import type { Context } from "hono";
import { z } from "zod";
import { principal } from "../src/lib/identity/auth";
import { type ChatMeta, type LlmCaller, runChat, streamChat } from "../src/lib/llm/complete";
import { clearOverride, loadRoutes, mayUse, storeOverride } from "../src/lib/llm/config";
import { embed } from "../src/lib/llm/embed";
import { openAiOnError } from "../src/lib/llm/openai-errors";
import { ChatCompletionRequest, EmbeddingRequest } from "../src/lib/llm/openai-shapes";
import { SSE_HEADERS } from "../src/lib/llm/sse";
import { snapshots } from "../src/lib/llm/targets";
import { tuner } from "../src/lib/llm/tuner";
import { startOfToday, usageSummary } from "../src/lib/llm/usage";
import type { AppEnv } from "../src/lib/platform/env";
import { unwrap } from "../src/lib/platform/refusal";
import { ApiRouter } from "../src/lib/platform/router";

/** A user's access token (stateless) or a service credential with the `llm` scope. */
const LLM_ACCESS = { scope: "llm", orUser: true } as const;
const ADMIN = { role: "admin" } as const;
/** Image parts arrive as data: URLs; 20 MiB holds a few large images. */
const CHAT_BODY_LIMIT = 20 * 1024 * 1024;
/** A long completion on a slow model; streams answer at their first chunk, well within it. */
const CHAT_TIMEOUT_MS = 300_000;

/** Who is calling, in the LLM code's terms: a credential is its own user for usage and budgets. */
export function llmCaller(c: Context<AppEnv>): LlmCaller {
  const service = c.get("service");
  if (service) return { userId: service.id, credentialId: service.id, roles: [] };
  const p = principal(c);
  return { userId: p.sub, roles: p.roles };
}

function metaHeaders(meta: ChatMeta): Record<string, string> {
  const headers: Record<string, string> = {
    "X-Tessera-Cache": meta.cache,
    "X-Tessera-Completion-Id": meta.completionId,
  };
  if (meta.target) headers["X-Tessera-Target"] = meta.target;
  if (meta.preset) headers["X-Tessera-Preset"] = meta.preset;
  return headers;
}

const noCache = (c: Context<AppEnv>) => /no-cache|no-store/i.test(c.req.header("cache-control") ?? "");

const ModelList = z.object({
  object: z.literal("list"),
  data: z.array(z.object({ id: z.string(), object: z.literal("model"), created: z.number(), owned_by: z.string() })),
});

export const llmService = new ApiRouter("llm")
  .route(
    {
      method: "post",
      path: "/v1/chat/completions",
      auth: LLM_ACCESS,
      summary: "OpenAI chat completion through the router (stream: true for SSE ending in `data: [DONE]`)",
      description:
        "`model` is an alias of the route table. Answers carry X-Tessera-Cache (hit, miss, bypass) and X-Tessera-Target. " +
        '`"tessera": {"params": "auto", "task": …}` lets the tuner choose the sampling parameters.',
      body: ChatCompletionRequest,
      bodyLimit: CHAT_BODY_LIMIT,
      timeoutMs: CHAT_TIMEOUT_MS,
      responses: {
        200: { description: "A chat.completion object, or an SSE stream of chat.completion.chunk objects" },
        404: { description: "Unknown model alias" },
        429: { description: "Rate limited upstream, or the daily token budget is spent (budget_exceeded)" },
        503: { description: "No target could answer; Retry-After says when to try again" },
      },
    },
    async (c, { body }) => {
      // The body was validated by the route declaration: the router does not parse it again.
      const options = { signal: c.req.raw.signal, noCache: noCache(c), parsed: true };
      if (body.stream) {
        const { body: stream, meta } = await streamChat(c.env, c.executionCtx, llmCaller(c), body, options);
        return new Response(stream, { headers: { ...SSE_HEADERS, ...metaHeaders(meta) } });
      }
      const { completion, meta } = await runChat(c.env, c.executionCtx, llmCaller(c), body, options);
      return c.json(completion, 200, metaHeaders(meta));
    },
  )
  .route(
    {
      method: "get",
      path: "/v1/models",
      auth: LLM_ACCESS,
      summary: "The model aliases this caller may use",
      responses: { 200: { description: "OpenAI's model list", schema: ModelList } },
    },
    async (c) => {
      const { routes } = await loadRoutes(c.env);
      const { roles } = llmCaller(c);
      const data = Object.entries(routes.aliases)
        .filter(([, alias]) => mayUse(alias, roles))
        .map(([id]) => ({ id, object: "model" as const, created: 0, owned_by: "tessera" }));
      return c.json({ object: "list" as const, data });
    },
  )
  .route(
    {
      method: "post",
      path: "/v1/embeddings",
      auth: LLM_ACCESS,
      summary: "OpenAI embeddings through the router",
      body: EmbeddingRequest,
      bodyLimit: CHAT_BODY_LIMIT,
      timeoutMs: CHAT_TIMEOUT_MS,
      responses: { 200: { description: "OpenAI's embedding list" }, 404: { description: "Unknown model alias" } },
    },
    async (c, { body }) => c.json(await embed(c.env, c.executionCtx, llmCaller(c), body, c.req.raw.signal)),
  )
  .route(
    {
      method: "get",
      path: "/v1/usage",
      auth: LLM_ACCESS,
      summary: "The caller's LLM usage since a time (default: today, UTC): totals, per model, recent calls",
      query: z.object({
        since: z.iso.datetime({ offset: true }).optional(),
        limit: z.coerce.number().int().min(0).max(500).default(50),
      }),
      responses: { 200: { description: "Usage" } },
    },
    async (c, { query }) => {
      const since = query.since ? new Date(query.since) : startOfToday();
      const { routes } = await loadRoutes(c.env);
      const summary = await usageSummary(c.env, llmCaller(c).userId, since, query.limit);
      return c.json({ ...summary, dailyTokenBudget: routes.dailyTokenBudget || null });
    },
  )
  .route(
    {
      method: "post",
      path: "/v1/feedback",
      auth: LLM_ACCESS,
      summary: 'Score one of your `params: "auto"` completions (0 = bad, 1 = good); the tuner learns at once',
      body: z.object({ completion_id: z.string().min(1).max(128), score: z.number().min(0).max(1) }).strict(),
      responses: {
        202: { description: "Accepted" },
        404: { description: "No tuned completion of yours with that id (or its feedback window has passed)" },
        409: { description: "Already scored" },
      },
    },
    async (c, { body }) => {
      unwrap(await tuner(c.env).feedback(body.completion_id, llmCaller(c).userId, body.score));
      return c.json({ status: "accepted" }, 202);
    },
  )
  .route(
    {
      method: "get",
      path: "/v1/llm/providers",
      auth: ADMIN,
      summary: "Each target's breaker state, failures, latency p50/p95 and last error (this isolate's view)",
      responses: { 200: { description: "Targets" } },
    },
    async (c) => c.json({ targets: snapshots((await loadRoutes(c.env)).routes) }),
  )
  .route(
    {
      method: "get",
      path: "/v1/llm/tuning",
      auth: ADMIN,
      summary: "Every (task, model) arm of the tuner: preset, posterior, mean, pulls, feedback, errors",
      responses: { 200: { description: "Tuning state" } },
    },
    async (c) => c.json({ tuning: await tuner(c.env).snapshot() }),
  )
  .route(
    {
      method: "get",
      path: "/v1/llm/routes",
      auth: ADMIN,
      summary: "The route table in force and where it comes from (LLM_ROUTES or an override)",
      responses: { 200: { description: "Routes" } },
    },
    async (c) => {
      const { routes, source } = await loadRoutes(c.env);
      return c.json({ source, routes });
    },
  )
  .route(
    {
      method: "put",
      path: "/v1/llm/routes",
      auth: ADMIN,
      summary: "Replace the route table with an override (validated; every isolate picks it up within 10 s)",
      body: z.unknown(),
      responses: { 200: { description: "The stored table" }, 400: { description: "Invalid table" } },
    },
    async (c, { body }) => c.json({ source: "override", routes: await storeOverride(c.env, body) }),
  )
  .route(
    {
      method: "delete",
      path: "/v1/llm/routes",
      auth: ADMIN,
      summary: "Drop the override: LLM_ROUTES applies again",
      responses: { 204: { description: "Dropped" } },
    },
    async (c) => {
      await clearOverride(c.env);
      return c.body(null, 204);
    },
  );

llmService.app.onError(openAiOnError);
