// The tuner's state (docs/llm.md "Tuning"): every (task, model) arm's Beta posterior and the completions still
// open to feedback. One object ("global"): each update is a read-modify-write that must not interleave (KV
// could lose concurrent updates), the whole state is small (tasks × models × presets numbers), and one home
// means every isolate samples from the same posterior the moment feedback lands.
import { DurableObject } from "cloudflare:workers";
import { type Arm, chooseArm, freshArm, type Outcome, observe, PRESETS } from "../src/lib/llm/tuning";
import type { Env } from "../src/lib/platform/env";
import { ok, type Refusable, refuse } from "../src/lib/platform/refusal";
import { migrateSqlite } from "./sqlite-migrations";

/** How long a completion stays open to feedback. */
const FEEDBACK_WINDOW_MS = 7 * 86_400_000;

interface TunedArm extends Arm {
  preset: string;
  mean: number;
}

interface TuningSnapshot {
  task: string;
  model: string;
  arms: TunedArm[];
}

/** The schema, one entry per version (durable-objects/sqlite-migrations.ts); the arms live in the KV API. */
const MIGRATIONS = [
  `CREATE TABLE pending (id TEXT PRIMARY KEY, arm_key TEXT NOT NULL, arm INTEGER NOT NULL, user_id TEXT NOT NULL,
    scored INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL);
   CREATE INDEX pending_expires ON pending (expires_at);`,
];

export class LlmTuner extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateSqlite(ctx.storage, MIGRATIONS);
  }

  private arms(key: string): Arm[] {
    const stored = this.ctx.storage.kv.get<Arm[]>(`arms:${key}`) ?? [];
    return PRESETS.map((_, i) => stored[i] ?? freshArm());
  }

  private update(key: string, index: number, outcome: Outcome, pull = false): void {
    const arms = this.arms(key);
    const arm = arms[index];
    if (!arm) return;
    arms[index] = { ...observe(arm, outcome), pulls: arm.pulls + (pull ? 1 : 0) };
    this.ctx.storage.kv.put(`arms:${key}`, arms);
  }

  /** Draws a preset for (task, model) and keeps the completion open to feedback. */
  pick(task: string, model: string, completionId: string, userId: string): { index: number; preset: string } {
    const key = `${task}|${model}`;
    const arms = this.arms(key);
    const index = chooseArm(arms);
    const chosen = arms[index] ?? freshArm();
    arms[index] = { ...chosen, pulls: chosen.pulls + 1 };
    this.ctx.storage.kv.put(`arms:${key}`, arms);
    const now = Date.now();
    this.ctx.storage.sql.exec("DELETE FROM pending WHERE expires_at < ?", now);
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO pending (id, arm_key, arm, user_id, expires_at) VALUES (?, ?, ?, ?, ?)",
      completionId,
      key,
      index,
      userId,
      now + FEEDBACK_WINDOW_MS,
    );
    return { index, preset: PRESETS[index]?.name ?? "" };
  }

  /** The call's own outcome (latency or error), reported by the router as soon as it is known. */
  outcome(completionId: string, outcome: Outcome): void {
    const row = this.pending(completionId);
    if (row) this.update(row.arm_key, row.arm, outcome);
  }

  /** A caller's score for one of their completions; once each (again → 409, not theirs or unknown → 404). */
  feedback(completionId: string, userId: string, score: number): Refusable<void> {
    const row = this.pending(completionId);
    if (!row || row.user_id !== userId) return refuse("not_found", "No tuned completion of yours with that id");
    if (row.scored) return refuse("conflict", "That completion has already been scored");
    this.update(row.arm_key, row.arm, { kind: "feedback", score });
    this.ctx.storage.sql.exec("UPDATE pending SET scored = 1 WHERE id = ?", completionId);
    return ok(undefined);
  }

  snapshot(): TuningSnapshot[] {
    const out: TuningSnapshot[] = [];
    for (const [name, value] of this.ctx.storage.kv.list<Arm[]>({ prefix: "arms:" })) {
      const [task = "", model = ""] = name.slice("arms:".length).split("|");
      out.push({
        task,
        model,
        arms: PRESETS.map((p, i) => {
          const arm = value[i] ?? freshArm();
          return { preset: p.name, ...arm, mean: arm.alpha / (arm.alpha + arm.beta) };
        }),
      });
    }
    return out;
  }

  private pending(id: string): { arm_key: string; arm: number; user_id: string; scored: number } | undefined {
    const rows = this.ctx.storage.sql
      .exec<{ arm_key: string; arm: number; user_id: string; scored: number }>(
        "SELECT arm_key, arm, user_id, scored FROM pending WHERE id = ? AND expires_at >= ?",
        id,
        Date.now(),
      )
      .toArray();
    return rows[0];
  }
}
