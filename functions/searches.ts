// /v1/searches: AB-MCTS searches (docs/orchestration.md). One Durable Object per search holds its tree; in external
// mode the caller generates and scores through ask and tell.
import { z } from "zod";
import { principal } from "../src/lib/identity/auth";
import { randomToken } from "../src/lib/identity/tokens";
import { openSearchRoom } from "../src/lib/orchestration/rooms";
import { scorerProblem } from "../src/lib/orchestration/scorers";
import { checkModels, searchObject } from "../src/lib/orchestration/service";
import { SEARCH_LIMITS, SearchRequest } from "../src/lib/orchestration/spec";
import { newWebhookSecret } from "../src/lib/orchestration/webhook-signature";
import { ApiError } from "../src/lib/platform/errors";
import { unwrap } from "../src/lib/platform/refusal";
import { ApiRouter } from "../src/lib/platform/router";

const SearchParams = z.object({ id: z.string().regex(/^srch_[A-Za-z0-9_-]{16,64}$/, "a search id") });
const AskBody = z.object({ count: z.number().int().min(1).max(SEARCH_LIMITS.maxAsksPerCall).default(1) });
const TellBody = z.object({
  ticket: z.number().int().min(1),
  answer: z.string().max(SEARCH_LIMITS.maxAnswerChars),
  /** The caller's own score in [0, 1]; omitted, the search's scorer scores the answer. */
  score: z.number().min(0).max(1).optional(),
  /** Tokens the generation used, counted against budget.tokens. */
  tokens: z.number().int().min(0).max(SEARCH_LIMITS.maxTokens).default(0),
});

export const searchesService = new ApiRouter("searches")
  .route(
    {
      method: "post",
      path: "/",
      auth: "user",
      summary: "Start a search",
      description:
        "`{task, models[], algorithm, scorer, budget: {nodes, tokens?, seconds?}, seed?, mode?, posterior?, prune?, " +
        "stopAtScore?}`. algorithm: ab-mcts-a, ab-mcts-m, repeated-sampling, sequential-refinement (several models " +
        "make AB-MCTS the multi-model variant). scorer: exact, regex, json-schema, webhook, llm-judge or caller. " +
        "mode managed (default): Tessera generates through the LLM router, each model a chat alias; follow it with " +
        "GET or the hub room search:<id>. mode external: you generate (and may score) through /:id/ask and " +
        "/:id/tell. A webhook scorer's signing secret is in the answer, once.",
      body: SearchRequest,
      responses: {
        201: { description: "The search (and `webhookSecret` for a webhook scorer)" },
        400: {
          description: "Bad input: unknown algorithm or model, no models, a budget over the limits, a bad scorer",
        },
      },
    },
    async (c, { body }) => {
      const problem = scorerProblem(body.scorer, c.get("config").jobsInputUrlAllowPrivate);
      if (problem) {
        throw new ApiError("invalid_request", problem.message, {
          issues: [{ path: ["body", ...problem.path], code: "invalid_scorer", message: problem.message }],
        });
      }
      const who = principal(c);
      await checkModels(c.env, body, who.roles);
      const owner = who.sub;
      const id = randomToken("srch_", 16);
      const webhookSecret = body.scorer.type === "webhook" ? newWebhookSecret() : null;
      await openSearchRoom(c.env, id, owner);
      const view = unwrap(await searchObject(c.env, id).create(id, owner, who.roles, body, webhookSecret));
      return c.json(webhookSecret ? { ...view, webhookSecret } : view, 201);
    },
  )
  .route(
    {
      method: "get",
      path: "/:id",
      auth: "user",
      summary: "A search: status, best answer, score history, budget used",
      params: SearchParams,
      responses: { 200: { description: "The search" }, 404: { description: "No such search of yours" } },
    },
    async (c, { params }) => c.json(unwrap(await searchObject(c.env, params.id).get(principal(c).sub))),
  )
  .route(
    {
      method: "get",
      path: "/:id/tree",
      auth: "user",
      summary: "A search's tree: every node with its parent, model, score and answer",
      params: SearchParams,
      responses: { 200: { description: "The tree" }, 404: { description: "No such search of yours" } },
    },
    async (c, { params }) => c.json(unwrap(await searchObject(c.env, params.id).tree(principal(c).sub))),
  )
  .route(
    {
      method: "delete",
      path: "/:id",
      auth: "user",
      summary: "Cancel a search",
      params: SearchParams,
      responses: {
        200: { description: "The search, cancelled" },
        404: { description: "No such search of yours" },
        409: { description: "It had already stopped" },
      },
    },
    async (c, { params }) => c.json(unwrap(await searchObject(c.env, params.id).cancel(principal(c).sub))),
  )
  .route(
    {
      method: "post",
      path: "/:id/ask",
      auth: "user",
      summary: "External mode: the next expansions to generate",
      description:
        "`{count?}` (1 to 16). Each ask is `{ticket, parent, action: generate|refine, model, parentAnswer}`; " +
        "an empty list means the budget is spent or answers are still outstanding.",
      params: SearchParams,
      body: AskBody,
      responses: { 200: { description: "`{asks, status}`" }, 409: { description: "Not an external search" } },
    },
    async (c, { params, body }) =>
      c.json(unwrap(await searchObject(c.env, params.id).ask(principal(c).sub, body.count))),
  )
  .route(
    {
      method: "post",
      path: "/:id/tell",
      auth: "user",
      summary: "External mode: a ticket's answer, with your score or scored by the search's scorer",
      params: SearchParams,
      body: TellBody,
      responses: {
        200: { description: "`{node, best, status}`" },
        409: { description: "Told already, cancelled, or not an external search" },
        502: { description: "The webhook scorer failed (the ticket stays open: tell again)" },
      },
    },
    async (c, { params, body }) =>
      c.json(
        unwrap(
          await searchObject(c.env, params.id).tell(
            principal(c).sub,
            body.ticket,
            body.answer,
            body.score,
            body.tokens,
          ),
        ),
      ),
  );
