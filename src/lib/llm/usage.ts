// Usage rows and daily budgets (docs/llm.md "Usage and budgets"). Rows are written after the answer, through
// waitUntil, so the database is off the request's path, and batched per isolate: up to USAGE_BATCH_ROWS rows in one
// INSERT, at most USAGE_FLUSH_MS after the first (one round trip per call was most of a call's own CPU, in the Worker
// and in the database; docs/benchmarks.md "The LLM router's own cost"). A stream the client cuts is recorded as
// `aborted` with the tokens it had produced.
import { and, count, desc, eq, gte, sql, sum } from "drizzle-orm";
import { db } from "../db/client";
import { llmUsage } from "../db/schema";
import type { Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import type { WaitUntil } from "./complete";
import type { TargetConfig } from "./config";

export type UsageRow = typeof llmUsage.$inferInsert;

export function costUsd(price: TargetConfig["price"] | undefined, prompt: number, completion: number): number {
  if (!price) return 0;
  return (prompt * price.prompt + completion * price.completion) / 1_000_000;
}

export async function recordUsage(env: Env, row: UsageRow | UsageRow[]): Promise<void> {
  await db(env)
    .insert(llmUsage)
    .values(Array.isArray(row) ? row : [row]);
}

/** Rows per INSERT at most; a full batch goes out at once. */
const USAGE_BATCH_ROWS = 50;
/** The longest a row waits for its INSERT (and so the most a budget can lag behind). */
const USAGE_FLUSH_MS = 1000;

/** Rows waiting for their INSERT, per database (an isolate in production sees one; tests several). */
const pendingUsage = new Map<string, { env: Env; rows: UsageRow[] }>();

async function flushUsage(key: string, onError: (err: unknown) => void): Promise<void> {
  const batch = pendingUsage.get(key);
  if (!batch || batch.rows.length === 0) return;
  pendingUsage.delete(key);
  await recordUsage(batch.env, batch.rows).catch(onError);
}

/**
 * Queues one usage row: it is written with the isolate's other rows of the next USAGE_FLUSH_MS in one INSERT, kept
 * alive by this request's waitUntil. Its time is the call's, not the INSERT's. A failed INSERT loses its batch
 * (logged through onError), as a failed single write did.
 */
export function queueUsage(env: Env, ctx: WaitUntil, row: UsageRow, onError: (err: unknown) => void): void {
  const key = env.DATABASE_URL ?? "";
  let batch = pendingUsage.get(key);
  const first = !batch;
  if (!batch) {
    batch = { env, rows: [] };
    pendingUsage.set(key, batch);
  }
  batch.rows.push({ createdAt: new Date(), ...row });
  if (batch.rows.length >= USAGE_BATCH_ROWS) {
    ctx.waitUntil(flushUsage(key, onError));
  } else if (first) {
    ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, USAGE_FLUSH_MS)).then(() => flushUsage(key, onError)));
  }
}

function startOfUtcDay(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

async function tokensToday(env: Env, userId: string): Promise<number> {
  const [row] = await db(env)
    .select({ total: sum(sql`${llmUsage.promptTokens} + ${llmUsage.completionTokens}`) })
    .from(llmUsage)
    .where(and(eq(llmUsage.userId, userId), gte(llmUsage.createdAt, startOfUtcDay())));
  return Number(row?.total ?? 0);
}

/** 429 `budget_exceeded` when the caller's tokens today have reached the daily budget (0 = no budget). */
export async function enforceBudget(env: Env, userId: string, budget: number): Promise<void> {
  if (budget <= 0) return;
  const used = await tokensToday(env, userId);
  if (used < budget) return;
  const next = startOfUtcDay().getTime() + 86_400_000;
  throw new ApiError(
    "budget_exceeded",
    `Daily token budget of ${budget} spent (${used} used); it renews at 00:00 UTC`,
    {
      headers: { "Retry-After": String(Math.max(1, Math.ceil((next - Date.now()) / 1000))) },
    },
  );
}

interface UsageSummary {
  since: string;
  totals: { requests: number; promptTokens: number; completionTokens: number; costUsd: number };
  byModel: { alias: string; provider: string | null; model: string | null; requests: number; tokens: number }[];
  recent: {
    completionId: string;
    alias: string;
    provider: string | null;
    model: string | null;
    credentialId: string | null;
    promptTokens: number;
    completionTokens: number;
    costUsd: number;
    latencyMs: number;
    cacheHit: boolean;
    status: string;
    createdAt: string;
  }[];
}

/** One user's usage since `since`: totals, per model, and the most recent rows. */
export async function usageSummary(env: Env, userId: string, since: Date, limit: number): Promise<UsageSummary> {
  const d = db(env);
  const where = and(eq(llmUsage.userId, userId), gte(llmUsage.createdAt, since));
  const tokens = sql<number>`${llmUsage.promptTokens} + ${llmUsage.completionTokens}`;
  // One batch: one HTTP request instead of three in parallel (docs/benchmarks.md "Round trips per route (issue #16)").
  const [totals, byModel, recent] = await d.batch([
    d
      .select({
        requests: count(),
        prompt: sum(llmUsage.promptTokens),
        completion: sum(llmUsage.completionTokens),
        cost: sum(llmUsage.costUsd),
      })
      .from(llmUsage)
      .where(where),
    d
      .select({
        alias: llmUsage.alias,
        provider: llmUsage.provider,
        model: llmUsage.model,
        requests: count(),
        tokens: sum(tokens),
      })
      .from(llmUsage)
      .where(where)
      .groupBy(llmUsage.alias, llmUsage.provider, llmUsage.model),
    d.select().from(llmUsage).where(where).orderBy(desc(llmUsage.createdAt)).limit(limit),
  ]);
  const t = totals[0];
  return {
    since: since.toISOString(),
    totals: {
      requests: Number(t?.requests ?? 0),
      promptTokens: Number(t?.prompt ?? 0),
      completionTokens: Number(t?.completion ?? 0),
      costUsd: Number(t?.cost ?? 0),
    },
    byModel: byModel.map((m) => ({ ...m, requests: Number(m.requests), tokens: Number(m.tokens ?? 0) })),
    recent: recent.map((r) => ({
      completionId: r.completionId,
      alias: r.alias,
      provider: r.provider,
      model: r.model,
      credentialId: r.credentialId,
      promptTokens: r.promptTokens,
      completionTokens: r.completionTokens,
      costUsd: r.costUsd,
      latencyMs: r.latencyMs,
      cacheHit: r.cacheHit,
      status: r.status,
      createdAt: r.createdAt.toISOString(),
    })),
  };
}

export function startOfToday(): Date {
  return startOfUtcDay();
}
