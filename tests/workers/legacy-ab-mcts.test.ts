// The old AB-MCTS service's routes (/api/v1): shapes, feedback that really changes the choice, concurrency.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { legacyFeedbackKind } from "../../functions/legacy/ab-mcts";
import { api, json, objectRows, registerUser } from "./support";

interface Recommendation {
  agent_name: string;
  agent_type: string;
  confidence: number;
  expected_performance: number;
  rationale: string;
}

const context = { task: "Summarise the quarterly report", requirements: ["short"], constraints: [] };
const agents = ["planner", { name: "writer", type: "llm" }, { agent_name: "critic", agent_type: "review" }];

async function recommend(token: string, body: Record<string, unknown> = {}) {
  const res = await api("POST", "/api/v1/recommend", { token, body: { context, available_agents: agents, ...body } });
  expect(res.status, await res.clone().text()).toBe(200);
  return json<{ recommendations: Recommendation[]; confidence: number; session_id: string }>(res);
}

describe("legacy AB-MCTS", () => {
  it("/recommend answers the old shape, at most max_recommendations, with a session", async () => {
    const { accessToken: token } = await registerUser();
    const r = await recommend(token, { max_recommendations: 2 });
    expect(r.recommendations).toHaveLength(2);
    expect(r.session_id).toMatch(/^sess_/);
    for (const rec of r.recommendations) {
      expect(["planner", "writer", "critic"]).toContain(rec.agent_name);
      expect(rec.confidence).toBeGreaterThanOrEqual(0);
      expect(rec.expected_performance).toBeCloseTo(0.5, 5); // Jeffreys' prior, no feedback yet
    }
    const types = Object.fromEntries(
      (await recommend(token, { max_recommendations: 3 })).recommendations.map((x) => [x.agent_name, x.agent_type]),
    );
    expect(types).toEqual({ planner: "agent", writer: "llm", critic: "review" });
  });

  it("feedback is applied: the rewarded agent comes first, and another user's bandit is untouched", async () => {
    const { accessToken: token } = await registerUser();
    for (let i = 0; i < 15; i++) {
      const { session_id } = await recommend(token);
      for (const [agent, value] of [
        ["writer", 1],
        ["planner", 0],
        ["critic", 0.1],
      ] as const) {
        const res = await api("POST", "/api/v1/feedback", {
          token,
          body: { session_id, agent_name: agent, reward: { value, components: { quality: value } } },
        });
        expect(res.status).toBe(200);
        expect(await json(res)).toMatchObject({ status: "accepted" });
      }
    }
    const after = await recommend(token);
    expect(after.recommendations[0]?.agent_name).toBe("writer");
    expect(after.recommendations[0]?.confidence).toBeGreaterThan(0.9);
    expect(after.recommendations[0]?.expected_performance).toBeGreaterThan(0.9);
    const stranger = await registerUser();
    const fresh = await recommend(stranger.accessToken);
    expect(fresh.recommendations.every((r) => Math.abs(r.expected_performance - 0.5) < 1e-9)).toBe(true);
  });

  it("concurrent /recommend calls all answer, each with its own session, and concurrent feedback all counts", async () => {
    const { accessToken: token, user } = await registerUser();
    const results = await Promise.all(Array.from({ length: 8 }, () => recommend(token)));
    expect(new Set(results.map((r) => r.session_id)).size).toBe(8);
    // Beyond the per-user request limit: the user's object itself, 50 recommends and 50 feedbacks interleaved.
    const stub = env.AGENT_BANDITS.get(env.AGENT_BANDITS.idFromName(user.id));
    const names = ["planner", "writer", "critic"];
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        await stub.recommend(`sess_c${i}`, names, i);
        return stub.feedback(`sess_c${i}`, "critic", 1);
      }),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const [critic] = await objectRows<{ n: number }>(stub, "SELECT n FROM arms WHERE agent = ?", "critic");
    expect(critic?.n).toBe(50);
  });

  it("/search answers the old shape with a best path and its session", async () => {
    const { accessToken: token } = await registerUser();
    const res = await api("POST", "/api/v1/search", { token, body: { context, available_agents: agents } });
    expect(res.status).toBe(200);
    const body = await json<Record<string, unknown>>(res);
    expect(body).toMatchObject({
      search_statistics: { nodes_explored: 3, average_depth: 1 },
      best_path: [expect.objectContaining({ agent_name: expect.any(String) })],
    });
    expect(body.agent_recommendations).toHaveLength(3);
  });

  it("bad feedback: unknown session 404, an agent not offered 400, a reward out of range 400", async () => {
    const { accessToken: token } = await registerUser();
    const { session_id } = await recommend(token);
    const send = (body: unknown) => api("POST", "/api/v1/feedback", { token, body });
    expect((await send({ session_id: "sess_nope", agent_name: "writer", reward: { value: 1 } })).status).toBe(404);
    expect((await send({ session_id, agent_name: "ghost", reward: { value: 1 } })).status).toBe(400);
    expect((await send({ session_id, agent_name: "writer", reward: { value: 3 } })).status).toBe(400);
    expect((await api("POST", "/api/v1/recommend", { token, body: { context, available_agents: [] } })).status).toBe(
      400,
    );
  });

  it("tells the two old services' feedback shapes apart", () => {
    expect(legacyFeedbackKind({ session_id: "s", agent_name: "a", reward: { value: 1 } })).toBe("ab-mcts");
    expect(legacyFeedbackKind({ task_id: "t", parameters_used: {}, quality_score: 0.9 })).toBe("parameters");
    expect(legacyFeedbackKind({ something: 1 })).toBeNull();
  });

  it("/health is public and answers the old shape", async () => {
    const res = await api("GET", "/api/v1/health");
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ status: "healthy", features: { thompson_sampling: true } });
  });
});
