// One fusion request from submission to result: it watches the GPU jobs its inputs need (on an alarm, so it
// survives eviction and restarts), turns each finished job into findings, finds the rule connections, asks the
// LLM router once for a synthesis, and keeps the result for its owner (docs/fusion.md).
import { DurableObject } from "cloudflare:workers";
import { extractedDocument } from "../src/lib/documents/service";
import { ruleConnections } from "../src/lib/fusion/findings";
import type { FusionResult, ModalityResult } from "../src/lib/fusion/model";
import { FUSION_LIMITS } from "../src/lib/fusion/model";
import { type FusionPlan, inputResult, jobFindings, type PlannedJob } from "../src/lib/fusion/plan";
import { synthesize } from "../src/lib/fusion/synthesize";
import { publishToUser } from "../src/lib/hub/rooms";
import { jobBoard } from "../src/lib/jobs/board";
import { DocumentExtractResult } from "../src/lib/jobs/protocol";
import type { Env } from "../src/lib/platform/env";
import { createLogger } from "../src/lib/platform/log";
import { migrateSqlite } from "./sqlite-migrations";

const MIGRATIONS = ["CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)"];
/** How often the jobs are looked at: soon at first, then less often, never less than every 2 s. */
const POLL_MS = { first: 250, max: 2_000 };

export class FusionRun extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateSqlite(ctx.storage, MIGRATIONS);
  }

  private read<T>(key: string): T | undefined {
    const row = this.ctx.storage.sql.exec<{ value: string }>("SELECT value FROM kv WHERE key = ?", key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  private write(key: string, value: unknown): void {
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", key, JSON.stringify(value));
  }

  /** Starts the plan once; a second start (a retried request) changes nothing. */
  async start(plan: FusionPlan): Promise<void> {
    if (this.read("plan")) return;
    this.write("plan", plan);
    this.write("polls", 0);
    const board = jobBoard(this.env);
    // The board is idempotent by job id: a retried start enqueues nothing twice.
    for (const job of plan.inputs.flatMap((i) => i.jobs)) {
      await board.enqueue({ id: job.id, owner: plan.owner, type: job.type, input: job.input, options: job.options });
    }
    await this.ctx.storage.setAlarm(Date.now() + POLL_MS.first);
  }

  /** The result so far (status `running` until every input has an answer), for its owner only. */
  get(owner: string): FusionResult | null {
    const plan = this.read<FusionPlan>("plan");
    if (!plan || plan.owner !== owner) return null;
    return this.read<FusionResult>("result") ?? this.running(plan);
  }

  private running(plan: FusionPlan): FusionResult {
    const modalities = plan.inputs.flatMap((i) => this.read<ModalityResult>(`input:${i.input}`) ?? i.done ?? []);
    return {
      id: plan.id,
      status: "running",
      modalities,
      summary: null,
      entities: [],
      connections: [],
      confidence: 0,
      synthesis: { status: "skipped", reason: "not yet" },
      timings: { totalMs: Date.now() - plan.createdAt, jobsMs: 0, synthesisMs: 0 },
    };
  }

  override async alarm(): Promise<void> {
    const plan = this.read<FusionPlan>("plan");
    if (!plan || this.read("result")) return;
    const log = createLogger("info", { fusion: plan.id });
    const board = jobBoard(this.env);
    const timedOut = Date.now() - plan.createdAt > FUSION_LIMITS.timeoutMs;
    let pending = 0;
    for (const planned of plan.inputs) {
      if (planned.done || this.read(`input:${planned.input}`)) continue;
      const outcomes: { job: PlannedJob; findings?: ModalityResult["findings"]; error?: string }[] = [];
      let waiting = false;
      for (const job of planned.jobs) {
        const record = await board.get(job.id, plan.owner);
        if (record?.status === "completed") {
          try {
            const document =
              job.type === "document.extract"
                ? await extractedDocument(this.env, job.id, DocumentExtractResult.parse(record.result).artifact)
                : undefined;
            outcomes.push({ job, findings: jobFindings(job.type, record.result, document) });
          } catch {
            outcomes.push({ job, error: "the worker's result could not be read" });
          }
        } else if (!record || record.status === "queued" || record.status === "running") {
          if (timedOut) {
            if (record) await board.cancel(job.id, plan.owner);
            outcomes.push({ job, error: `no result within ${FUSION_LIMITS.timeoutMs / 1000} s` });
          } else waiting = true;
        } else {
          outcomes.push({ job, error: record.error ?? record.status });
        }
      }
      if (waiting) {
        pending++;
        continue;
      }
      const result = inputResult(planned, outcomes);
      this.write(`input:${planned.input}`, result);
      await this.progress(plan, { input: planned.input, status: result.status });
    }
    if (pending > 0) {
      const polls = (this.read<number>("polls") ?? 0) + 1;
      this.write("polls", polls);
      await this.ctx.storage.setAlarm(Date.now() + Math.min(POLL_MS.max, POLL_MS.first * 1.5 ** polls));
      return;
    }
    const jobsMs = Date.now() - plan.createdAt;
    const modalities = plan.inputs.map(
      (i) => this.read<ModalityResult>(`input:${i.input}`) ?? (i.done as ModalityResult),
    );
    const rules = ruleConnections(modalities);
    const synthesisStarted = Date.now();
    const synthesis = await synthesize(this.env, this.ctx, plan, modalities).catch((err: unknown) => {
      log.warn("fusion synthesis failed", { error: err instanceof Error ? err.message : String(err) });
      return { status: "failed" as const, reason: "the synthesis call failed" };
    });
    const answered = synthesis.status === "done" ? synthesis.answer : undefined;
    const ok = modalities.filter((m) => m.status === "ok");
    const result: FusionResult = {
      id: plan.id,
      status: ok.length === modalities.length ? "completed" : "partial",
      modalities,
      summary: answered?.summary ?? null,
      entities: mergeEntities(rules.entities, answered?.entities ?? []),
      connections: [...rules.connections, ...(answered?.connections ?? [])],
      confidence: ok.length ? ok.reduce((n, m) => n + m.confidence, 0) / modalities.length : 0,
      synthesis:
        synthesis.status === "done"
          ? { status: "done", model: synthesis.model }
          : { status: synthesis.status, reason: synthesis.reason },
      timings: { totalMs: Date.now() - plan.createdAt, jobsMs, synthesisMs: Date.now() - synthesisStarted },
    };
    this.write("result", result);
    await this.progress(plan, { status: result.status });
  }

  private async progress(plan: FusionPlan, data: Record<string, unknown>): Promise<void> {
    await publishToUser(this.env, plan.owner, { data: { event: "fusion.progress", fusionId: plan.id, ...data } }).catch(
      () => undefined,
    );
  }
}

function mergeEntities(
  a: { name: string; inputs: number[] }[],
  b: { name: string; inputs: number[] }[],
): { name: string; inputs: number[] }[] {
  const byName = new Map<string, { name: string; inputs: Set<number> }>();
  for (const e of [...a, ...b]) {
    const key = e.name.toLowerCase();
    const entry = byName.get(key) ?? { name: e.name, inputs: new Set<number>() };
    for (const i of e.inputs) entry.inputs.add(i);
    byName.set(key, entry);
  }
  return [...byName.values()].map((e) => ({ name: e.name, inputs: [...e.inputs].sort((x, y) => x - y) }));
}
