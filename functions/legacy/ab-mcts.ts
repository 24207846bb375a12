// /api/v1 (search, recommend, feedback, health): the old AB-MCTS service's agent-choice routes and shapes over a
// per-user bandit (durable-objects/agent-bandit.ts). Its bugs are not kept: the Thompson draw is a real Beta draw,
// feedback is applied to the agent's posterior, concurrent /recommend calls queue in the user's object instead of
// deadlocking, and nothing carries over between users or sessions except the learned rewards.
import type { Context } from "hono";
import { z } from "zod";
import pkg from "../../package.json";
import { principal } from "../../src/lib/identity/auth";
import { randomToken } from "../../src/lib/identity/tokens";
import { applyParameterFeedback, LegacyParameterFeedback } from "../../src/lib/llm/parameter-feedback";
import type { ArmRanking } from "../../src/lib/orchestration/agent-bandit";
import type { AppEnv } from "../../src/lib/platform/env";
import { ApiError } from "../../src/lib/platform/errors";
import { unwrap } from "../../src/lib/platform/refusal";
import { ApiRouter } from "../../src/lib/platform/router";
import { parseInput } from "../../src/lib/platform/validate";

const MAX_AGENTS = 50;

const Agent = z.union([
  z.string().min(1).max(128),
  z.object({
    name: z.string().min(1).max(128).optional(),
    agent_name: z.string().min(1).max(128).optional(),
    type: z.string().max(64).optional(),
    agent_type: z.string().max(64).optional(),
  }),
]);

const LegacyContext = z.object({
  task: z.string().min(1).max(8192),
  requirements: z.array(z.string().max(1024)).max(100).default([]),
  constraints: z.array(z.string().max(1024)).max(100).default([]),
  context_data: z.record(z.string(), z.unknown()).optional(),
  user_preferences: z.unknown().optional(),
  execution_context: z
    .object({ session_id: z.string().max(128).optional(), budget: z.number().optional(), priority: z.unknown() })
    .partial()
    .optional(),
});

const SearchBody = z.object({
  context: LegacyContext,
  available_agents: z.array(Agent).min(1, "at least one agent").max(MAX_AGENTS),
  options: z
    .object({ max_iterations: z.number().int().min(1).max(10_000).optional() })
    .partial()
    .optional(),
});

const RecommendBody = z.object({
  context: LegacyContext,
  available_agents: z.array(Agent).min(1, "at least one agent").max(MAX_AGENTS),
  max_recommendations: z.number().int().min(1).max(MAX_AGENTS).default(3),
});

/** The AB-MCTS feedback shape; the old parameter service's feedback has `task_id` and `parameters_used` instead. */
const AbMctsFeedback = z.object({
  session_id: z.string().min(1).max(128),
  agent_name: z.string().min(1).max(128),
  reward: z.object({
    value: z.number().min(0).max(1),
    components: z.record(z.string(), z.number()).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** Which old service a /api/v1/feedback body belongs to: the one place the two shapes are told apart. */
export function legacyFeedbackKind(body: unknown): "ab-mcts" | "parameters" | null {
  if (typeof body !== "object" || body === null) return null;
  if ("session_id" in body || "agent_name" in body) return "ab-mcts";
  if ("task_id" in body || "parameters_used" in body) return "parameters";
  return null;
}

interface NamedAgent {
  name: string;
  type: string;
}

function agentsOf(list: z.infer<typeof Agent>[]): NamedAgent[] {
  const seen = new Map<string, NamedAgent>();
  for (const a of list) {
    const name = typeof a === "string" ? a : (a.name ?? a.agent_name);
    if (!name) throw new ApiError("invalid_request", "Each agent needs a name");
    const type = typeof a === "string" ? "agent" : (a.type ?? a.agent_type ?? "agent");
    if (!seen.has(name)) seen.set(name, { name, type });
  }
  return [...seen.values()];
}

function bandit(c: Context<AppEnv>) {
  const env = c.env;
  return env.AGENT_BANDITS.get(env.AGENT_BANDITS.idFromName(principal(c).sub));
}

async function recommend(
  c: Context<AppEnv>,
  agents: NamedAgent[],
): Promise<{ session: string; ranking: ArmRanking[] }> {
  const session = randomToken("sess_", 16);
  const seed = crypto.getRandomValues(new Uint32Array(1))[0] as number;
  const ranking = await bandit(c).recommend(
    session,
    agents.map((a) => a.name),
    seed,
  );
  return { session, ranking };
}

function recommendation(r: ArmRanking, type: string) {
  return {
    agent_name: r.agent,
    agent_type: type,
    confidence: r.winShare,
    expected_performance: r.expected,
    estimated_cost: null,
    rationale:
      r.observations === 0
        ? "No feedback yet: ranked by exploration"
        : `Mean reward ${r.expected.toFixed(3)} from ${r.observations} feedback reports; first in ${(r.winShare * 100).toFixed(1)}% of Thompson draws`,
  };
}

const startedAt = Date.now();

export const legacyAbMctsService = new ApiRouter("legacy ab-mcts")
  .route(
    {
      method: "post",
      path: "/search",
      auth: "user",
      summary: "Old AB-MCTS service: choose agents for a task",
      description: "Thompson sampling over the given agents with this user's learned rewards (docs/orchestration.md).",
      body: SearchBody,
      responses: { 200: { description: "`{best_path, confidence, expected_reward, search_statistics, ...}`" } },
    },
    async (c, { body }) => {
      const started = performance.now();
      const agents = agentsOf(body.available_agents);
      const types = new Map(agents.map((a) => [a.name, a.type]));
      const { session, ranking } = await recommend(c, agents);
      const best = ranking[0] as ArmRanking;
      const recommendations = ranking.map((r) => recommendation(r, types.get(r.agent) ?? "agent"));
      return c.json({
        best_path: [
          {
            id: `${session}:0`,
            agent_name: best.agent,
            agent_type: types.get(best.agent) ?? "agent",
            estimated_cost: null,
            estimated_time: null,
            confidence: best.winShare,
          },
        ],
        confidence: best.winShare,
        expected_reward: best.expected,
        search_statistics: {
          total_iterations: 1000,
          nodes_explored: agents.length,
          average_depth: 1,
          search_time: Math.round(performance.now() - started),
        },
        agent_recommendations: recommendations,
        execution_plan: {
          steps: [{ order: 1, agent_name: best.agent, task: body.context.task }],
          session_id: session,
        },
        session_id: session,
      });
    },
  )
  .route(
    {
      method: "post",
      path: "/recommend",
      auth: "user",
      summary: "Old AB-MCTS service: the best agents for a task, with a session for feedback",
      body: RecommendBody,
      responses: { 200: { description: "`{recommendations, confidence, session_id}`" } },
    },
    async (c, { body }) => {
      const agents = agentsOf(body.available_agents);
      const types = new Map(agents.map((a) => [a.name, a.type]));
      const { session, ranking } = await recommend(c, agents);
      const top = ranking.slice(0, body.max_recommendations);
      return c.json({
        recommendations: top.map((r) => recommendation(r, types.get(r.agent) ?? "agent")),
        confidence: top[0]?.winShare ?? 0,
        session_id: session,
      });
    },
  )
  .route(
    {
      method: "post",
      path: "/feedback",
      auth: "user",
      summary: "Old AB-MCTS service: an agent's reward for a session, applied to its posterior",
      description:
        "`{session_id, agent_name, reward: {value 0..1, components?, metadata?}}`. The old parameter service's " +
        "feedback (`task_id`, `parameters_used`, ...) shares this path and is told apart by its shape.",
      body: z.record(z.string(), z.unknown()),
      responses: {
        200: { description: '`{status: "accepted", message}`' },
        404: { description: "An unknown session, or a task_id the tuner never handed out" },
      },
    },
    async (c, { body }) => {
      const kind = legacyFeedbackKind(body);
      if (kind === "parameters") {
        const parameters = parseInput(LegacyParameterFeedback, body, "body");
        return c.json(await applyParameterFeedback(c.env, principal(c).sub, parameters));
      }
      const feedback = parseInput(AbMctsFeedback, body, "body");
      unwrap(await bandit(c).feedback(feedback.session_id, feedback.agent_name, feedback.reward.value));
      return c.json({
        status: "accepted",
        message: `Reward ${feedback.reward.value} applied to ${feedback.agent_name}`,
      });
    },
  )
  .route(
    {
      method: "get",
      path: "/health",
      auth: "public",
      summary: "Old AB-MCTS service: health",
      responses: { 200: { description: "`{status, version, uptime_seconds, features}`" } },
    },
    (c) =>
      c.json({
        status: "healthy",
        version: pkg.version,
        uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
        features: { thompson_sampling: true, bayesian_learning: true, caching: false, parallel_simulations: false },
      }),
  );
