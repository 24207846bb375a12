// One user's agent bandit for the old AB-MCTS routes: each agent's reward counts and the sessions that were handed
// recommendations, in this object's SQLite storage. Every method is synchronous, so concurrent calls queue in the
// object's input gate one after another and none can wait on another (the old service's /recommend deadlocked).
import { DurableObject } from "cloudflare:workers";
import { type ArmRanking, rankAgents } from "../src/lib/orchestration/agent-bandit";
import { observe, type Stats } from "../src/lib/orchestration/posterior";
import { Random } from "../src/lib/orchestration/random";
import type { Env } from "../src/lib/platform/env";
import { ok, type Refusable, refuse } from "../src/lib/platform/refusal";
import { migrateSqlite } from "./sqlite-migrations";

/** Sessions are kept this long for their feedback, and at most this many per user. */
const BANDIT_LIMITS = { sessionTtlMs: 7 * 24 * 3600 * 1000, maxSessions: 1000, draws: 1000 } as const;

/** The schema, one entry per version (durable-objects/sqlite-migrations.ts). */
const MIGRATIONS = [
  `
CREATE TABLE IF NOT EXISTS arms (agent TEXT PRIMARY KEY, n REAL NOT NULL, sum REAL NOT NULL, sum_sq REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, agents TEXT NOT NULL, created_at INTEGER NOT NULL);
`,
];

export class AgentBandit extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateSqlite(ctx.storage, MIGRATIONS);
  }

  private stats(): Map<string, Stats> {
    const rows = this.sql
      .exec<{ agent: string; n: number; sum: number; sum_sq: number }>("SELECT * FROM arms")
      .toArray();
    return new Map(rows.map((r) => [r.agent, [r.n, r.sum, r.sum_sq] as Stats]));
  }

  /** Ranks the agents and opens a session that feedback can name. */
  recommend(sessionId: string, agents: string[], seed: number): ArmRanking[] {
    const ranking = rankAgents(agents, this.stats(), BANDIT_LIMITS.draws, Random.seeded(seed));
    const now = Date.now();
    this.sql.exec("DELETE FROM sessions WHERE created_at < ?", now - BANDIT_LIMITS.sessionTtlMs);
    this.sql.exec(
      "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions ORDER BY created_at DESC LIMIT -1 OFFSET ?)",
      BANDIT_LIMITS.maxSessions - 1,
    );
    this.sql.exec(
      "INSERT INTO sessions (id, agents, created_at) VALUES (?, ?, ?)",
      sessionId,
      JSON.stringify(agents),
      now,
    );
    return ranking;
  }

  /** Applies a reward in [0, 1] to an agent that the session was offered. */
  feedback(sessionId: string, agent: string, reward: number): Refusable<void> {
    const row = this.sql.exec<{ agents: string }>("SELECT agents FROM sessions WHERE id = ?", sessionId).toArray()[0];
    if (!row) return refuse("not_found", "Unknown or expired session_id");
    if (!(JSON.parse(row.agents) as string[]).includes(agent)) {
      return refuse("invalid_request", "agent_name was not offered in that session", {
        issues: [{ path: ["body", "agent_name"], code: "unknown_agent", message: "not offered in that session" }],
      });
    }
    const stats = this.stats().get(agent) ?? ([0, 0, 0] as Stats);
    observe(stats, reward);
    this.sql.exec(
      "INSERT OR REPLACE INTO arms (agent, n, sum, sum_sq) VALUES (?, ?, ?, ?)",
      agent,
      stats[0],
      stats[1],
      stats[2],
    );
    return ok(undefined);
  }
}
