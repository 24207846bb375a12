// One search (POST /v1/searches) per object: its record, the algorithm's state and the answers in this object's
// SQLite storage, written in one transaction per told answer, so an eviction or restart resumes exactly where the
// search stopped (the algorithm's random state is stored with it). Progress goes to the hub.
import { DurableObject } from "cloudflare:workers";
import { publishToRoom, userRoom } from "../src/lib/hub/rooms";
import { generateAnswer, judgeAnswer, type Parent } from "../src/lib/orchestration/generate";
import { searchRoom } from "../src/lib/orchestration/rooms";
import { ScorerError, scoreByWebhook, scoreLocally } from "../src/lib/orchestration/scorers";
import { type Ask, Search, SearchError, type SearchState } from "../src/lib/orchestration/search";
import { SEARCH_LIMITS, type SearchRecord, type SearchRequest } from "../src/lib/orchestration/spec";
import type { TreeNode } from "../src/lib/orchestration/tree";
import { type Env, getConfig } from "../src/lib/platform/env";
import { ApiError, type ErrorCode } from "../src/lib/platform/errors";
import { type Refusable, refuse } from "../src/lib/platform/refusal";
import { migrateSqlite } from "./sqlite-migrations";

export interface NodeView {
  id: number;
  parent: number | null;
  depth: number;
  model: string;
  score: number | null;
  answer: string | null;
}

export interface SearchView {
  id: string;
  status: SearchRecord["status"];
  reason: string | null;
  mode: SearchRequest["mode"];
  algorithm: SearchRequest["algorithm"];
  models: string[];
  scorer: SearchRequest["scorer"]["type"];
  budget: SearchRequest["budget"];
  used: { nodes: number; told: number; tokens: number; seconds: number };
  best: NodeView | null;
  history: SearchRecord["history"];
  createdAt: string;
  updatedAt: string;
}

export interface AskView extends Ask {
  /** The answer to refine (null for a fresh answer). */
  parentAnswer: string | null;
}

/** The schema, one entry per version (durable-objects/sqlite-migrations.ts). */
const MIGRATIONS = [
  `
CREATE TABLE IF NOT EXISTS search (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (node INTEGER PRIMARY KEY, answer TEXT NOT NULL, tokens INTEGER NOT NULL);
`,
  // The llm-judge scorer's reasoning, shown to the model that refines the answer.
  "ALTER TABLE answers ADD COLUMN feedback TEXT;",
];

/** Managed mode: consecutive router failures before the search gives up (status failed), and the backoff between. */
export const MANAGED_RETRIES = { max: 5, firstMs: 1000, maxMs: 30_000 } as const;

/** Router refusals worth retrying (an outage, a rate limit, a provider's error); anything else fails the search. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set(["unavailable", "rate_limited", "upstream_error", "timeout"]);

type Scored = { score: number; feedback: string | null; tokens: number };

/** A scorer's or the router's refusal as a result (anything else is a bug and stays thrown). */
function refusalOf(err: unknown): ReturnType<typeof refuse> | null {
  if (err instanceof ScorerError)
    return fail(err.kind === "invalid" ? "invalid_request" : "upstream_error", err.message);
  if (err instanceof ApiError) return fail(err.code, err.message);
  return null;
}

const fail = (error: ErrorCode, message: string) => refuse(error, message);

export class SearchRun extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Tickets being scored by a webhook right now (a second tell of one is refused while the first waits). */
  private readonly scoring = new Set<number>();
  /**
   * The parsed record and search, kept between requests: every write goes through this instance, so the copy is
   * the stored state; a new instance (after an eviction) reads storage again.
   */
  private cached: { record: SearchRecord; search: Search } | null = null;
  /** Managed mode: the generation or judging under way, aborted by a cancel. */
  private inflight: AbortController | null = null;
  /** The last progress event sent (publish() chains on it, so events keep their order). */
  private published: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrateSqlite(ctx.storage, MIGRATIONS);
  }

  private read<T>(key: "record" | "state"): T | null {
    const row = this.sql.exec<{ v: string }>("SELECT v FROM search WHERE k = ?", key).toArray()[0];
    return row ? (JSON.parse(row.v) as T) : null;
  }

  private write(key: "record" | "state", value: unknown): void {
    this.sql.exec("INSERT OR REPLACE INTO search (k, v) VALUES (?, ?)", key, JSON.stringify(value));
  }

  /** Writes in one transaction; a failed write drops the cached copy, so the next request reads what was stored. */
  private persist(write: () => void): void {
    try {
      this.ctx.storage.transactionSync(write);
    } catch (err) {
      this.cached = null;
      throw err;
    }
  }

  private answer(node: number): string | null {
    return (
      this.sql.exec<{ answer: string }>("SELECT answer FROM answers WHERE node = ?", node).toArray()[0]?.answer ?? null
    );
  }

  /** A told node's answer, score and feedback, as a refinement prompt shows them. */
  private parentOf(search: Search, node: number): Parent | null {
    const n = search.state.nodes[node];
    if (!n || node === 0 || n.score === null) return null;
    const row = this.sql
      .exec<{ answer: string; feedback: string | null }>("SELECT answer, feedback FROM answers WHERE node = ?", node)
      .toArray()[0];
    return row ? { answer: row.answer, score: n.score, feedback: row.feedback } : null;
  }

  /** The stored record and search, whoever asks (the alarm), or null before create. */
  private current(): { record: SearchRecord; search: Search } | null {
    if (!this.cached) {
      const record = this.read<SearchRecord>("record");
      const state = this.read<SearchState>("state");
      if (record && state) this.cached = { record, search: new Search(state) };
    }
    return this.cached;
  }

  /** The record and the search for its owner (others learn nothing: not found). */
  private load(owner: string): Refusable<{ record: SearchRecord; search: Search }> {
    const current = this.current();
    if (!current || current.record.owner !== owner) return fail("not_found", "Search not found");
    return { ok: true, value: current };
  }

  async create(
    id: string,
    owner: string,
    roles: string[],
    request: SearchRequest,
    webhookSecret: string | null,
  ): Promise<Refusable<SearchView>> {
    if (this.read<SearchRecord>("record")) return fail("conflict", "Search exists");
    let search: Search;
    try {
      search = Search.create({
        algorithm: request.algorithm,
        models: request.models,
        maxNodes: request.budget.nodes,
        seed: request.seed ?? 0,
        posterior: request.posterior,
        prune: request.prune,
      });
    } catch (err) {
      return fail("invalid_request", (err as Error).message);
    }
    const now = Date.now();
    const record: SearchRecord = {
      id,
      owner,
      request,
      status: "running",
      reason: null,
      createdAt: now,
      updatedAt: now,
      tokensUsed: 0,
      history: [],
      webhookSecret,
      roles,
      failures: 0,
    };
    this.persist(() => {
      this.write("record", record);
      this.write("state", search.state);
    });
    this.cached = { record, search };
    if (request.mode === "managed") await this.ctx.storage.setAlarm(Date.now());
    return { ok: true, value: this.view(record, search) };
  }

  async get(owner: string): Promise<Refusable<SearchView>> {
    const loaded = this.load(owner);
    if (!loaded.ok) return loaded;
    const { record, search } = loaded.value;
    this.expire(record);
    // A managed search always has its next step scheduled; should an alarm have been lost, a read schedules it.
    if (
      record.request.mode === "managed" &&
      record.status === "running" &&
      (await this.ctx.storage.getAlarm()) === null
    )
      await this.ctx.storage.setAlarm(Date.now());
    return { ok: true, value: this.view(record, search) };
  }

  tree(owner: string): Refusable<{ id: string; nodes: NodeView[] }> {
    const loaded = this.load(owner);
    if (!loaded.ok) return loaded;
    const answers = new Map(
      this.sql
        .exec<{ node: number; answer: string }>("SELECT node, answer FROM answers")
        .toArray()
        .map((r) => [r.node, r.answer]),
    );
    const nodes = loaded.value.search.state.nodes.map((n) => ({
      id: n.id,
      parent: n.parent,
      depth: n.depth,
      model: n.model,
      score: n.score,
      answer: answers.get(n.id) ?? null,
    }));
    return { ok: true, value: { id: loaded.value.record.id, nodes } };
  }

  cancel(owner: string): Refusable<SearchView> {
    const loaded = this.load(owner);
    if (!loaded.ok) return loaded;
    const { record, search } = loaded.value;
    if (record.status !== "running") return fail("conflict", `The search has already stopped (${record.reason})`);
    this.finish(record, "cancelled", "cancelled");
    this.persist(() => this.write("record", record));
    this.inflight?.abort();
    this.publish(record, { kind: "search.done", reason: record.reason });
    return { ok: true, value: this.view(record, search) };
  }

  /** External mode: up to `count` expansions to generate (fewer, or none, when the budget is spent). */
  ask(owner: string, count: number): Refusable<{ asks: AskView[]; status: SearchRecord["status"] }> {
    const loaded = this.load(owner);
    if (!loaded.ok) return loaded;
    const { record, search } = loaded.value;
    if (record.request.mode !== "external") return fail("conflict", "Only an external search takes ask and tell");
    this.expire(record);
    const asks: AskView[] = [];
    if (record.status === "running") {
      for (let i = 0; i < count; i++) {
        const ask = search.ask();
        if (!ask) break;
        asks.push({ ...ask, parentAnswer: ask.parent === 0 ? null : this.answer(ask.parent) });
      }
      if (asks.length) {
        record.updatedAt = Date.now();
        this.persist(() => {
          this.write("state", search.state);
          this.write("record", record);
        });
      }
    }
    return { ok: true, value: { asks, status: record.status } };
  }

  /** External mode: a ticket's answer, scored by the caller (`score`) or by the search's scorer. */
  async tell(
    owner: string,
    ticket: number,
    answer: string,
    score: number | undefined,
    tokens: number,
  ): Promise<Refusable<{ node: NodeView; best: NodeView | null; status: SearchRecord["status"] }>> {
    const first = this.load(owner);
    if (!first.ok) return first;
    const { record } = first.value;
    if (record.request.mode !== "external") return fail("conflict", "Only an external search takes ask and tell");
    if (record.status === "cancelled") return fail("conflict", "The search was cancelled");
    const node = first.value.search.state.nodes[ticket];
    if (ticket < 1 || !node) return fail("invalid_request", `No ticket ${ticket}`);
    if (node.score !== null || this.scoring.has(ticket))
      return fail("conflict", `Ticket ${ticket} has already been told`);
    let scored: Scored;
    if (score !== undefined) scored = { score, feedback: null, tokens: 0 };
    else {
      if (record.request.scorer.type === "caller")
        return fail("invalid_request", "This search's scorer is the caller: send score");
      this.scoring.add(ticket);
      try {
        scored = await this.scoreAnswer(record, ticket, answer, AbortSignal.timeout(60_000));
      } catch (err) {
        const refusal = refusalOf(err);
        if (refusal) return refusal;
        throw err;
      } finally {
        this.scoring.delete(ticket);
      }
    }
    // Read again: other calls may have run while a scorer was working.
    const loaded = this.load(owner);
    if (!loaded.ok) return loaded;
    const { record: latest, search } = loaded.value;
    if (latest.status === "cancelled") return fail("conflict", "The search was cancelled");
    try {
      const told = this.commit(latest, search, ticket, answer, scored, tokens + scored.tokens);
      return { ok: true, value: told };
    } catch (err) {
      if (err instanceof SearchError)
        return fail(err.code === "conflict" ? "conflict" : "invalid_request", err.message);
      throw err;
    }
  }

  /**
   * Managed mode, one node per alarm: the pending ticket (one an eviction interrupted) or the next ask, generated
   * through the LLM router, scored, told; then the next alarm. Every step is in storage before the next await, so an
   * evicted object resumes at its next alarm (or at the next read, should the alarm be lost).
   */
  override async alarm(): Promise<void> {
    const loaded = this.current();
    if (loaded?.record.request.mode !== "managed") return;
    const { record, search } = loaded;
    this.expire(record);
    if (record.status !== "running") return;
    let ticket = search.pending[0];
    if (ticket === undefined) {
      const ask = search.ask();
      if (!ask) {
        this.settle(record, search);
        this.persist(() => this.write("record", record));
        return;
      }
      ticket = ask.ticket;
      record.updatedAt = Date.now();
      this.persist(() => {
        this.write("state", search.state);
        this.write("record", record);
      });
    }
    const node = search.state.nodes[ticket] as TreeNode;
    const parent = node.parent ? this.parentOf(search, node.parent) : null;
    const { request } = record;
    const abort = new AbortController();
    this.inflight = abort;
    const signals = [abort.signal];
    if (request.budget.seconds !== undefined) {
      signals.push(AbortSignal.timeout(Math.max(1, record.createdAt + request.budget.seconds * 1000 - Date.now())));
    }
    const signal = AbortSignal.any(signals);
    const caller = { userId: record.owner, roles: record.roles ?? [] };
    const ctx = { waitUntil: (p: Promise<unknown>) => this.ctx.waitUntil(p) };
    let spent = 0;
    let outcome: { answer: string; scored: Scored } | { error: unknown };
    try {
      const generated = await generateAnswer(this.env, ctx, caller, node.model, request.task, parent, signal);
      spent = generated.tokens;
      const scored = await this.scoreAnswer(record, ticket, generated.text, signal);
      outcome = { answer: generated.text, scored };
    } catch (err) {
      outcome = { error: err };
    } finally {
      this.inflight = null;
    }
    // Read again: a cancel or a read may have run while the router worked.
    const latest = this.current();
    if (latest?.record.status !== "running") return;
    if ("error" in outcome) {
      this.managedFailure(latest.record, outcome.error, spent);
      if (latest.record.status === "running") {
        const wait = Math.min(MANAGED_RETRIES.maxMs, MANAGED_RETRIES.firstMs * 2 ** (latest.record.failures ?? 0));
        await this.ctx.storage.setAlarm(Date.now() + wait);
      }
      return;
    }
    latest.record.failures = 0;
    this.commit(latest.record, latest.search, ticket, outcome.answer, outcome.scored, spent + outcome.scored.tokens);
    if (latest.record.status === "running") await this.ctx.storage.setAlarm(Date.now());
  }

  /** A failed managed step: the deadline, a transient router failure (retried a few times), or the end. */
  private managedFailure(record: SearchRecord, err: unknown, spent: number): void {
    record.tokensUsed += spent;
    this.expire(record);
    if (record.status === "running") {
      // A scorer webhook that failed may answer next time; one whose URL is now refused will not.
      const transient =
        err instanceof ApiError ? TRANSIENT.has(err.code) : err instanceof ScorerError && err.kind === "upstream";
      const message =
        err instanceof ApiError || err instanceof ScorerError ? err.message : "an unexpected error in the search step";
      record.failures = (record.failures ?? 0) + 1;
      if (!transient || record.failures >= MANAGED_RETRIES.max) {
        this.finish(record, "failed", `generation failed: ${message}`);
        this.publish(record, { kind: "search.done", reason: record.reason });
      }
    }
    this.persist(() => this.write("record", record));
  }

  /** Scores an answer by the search's scorer (not the caller's): local, webhook, or the llm-judge through the router. */
  private async scoreAnswer(
    record: SearchRecord,
    ticket: number,
    answer: string,
    signal: AbortSignal,
  ): Promise<Scored> {
    const scorer = record.request.scorer;
    const local = scoreLocally(scorer, answer);
    if (local !== null) return { score: local, feedback: null, tokens: 0 };
    if (scorer.type === "webhook") {
      const score = await scoreByWebhook(
        scorer.url,
        record.webhookSecret ?? "",
        { searchId: record.id, node: ticket, task: record.request.task, answer },
        {
          net: { resolverUrl: getConfig(this.env).netResolverUrl },
          allowPrivate: getConfig(this.env).jobsInputUrlAllowPrivate,
        },
      );
      return { score, feedback: null, tokens: 0 };
    }
    if (scorer.type === "llm-judge") {
      const ctx = { waitUntil: (p: Promise<unknown>) => this.ctx.waitUntil(p) };
      const caller = { userId: record.owner, roles: record.roles ?? [] };
      const judged = await judgeAnswer(this.env, ctx, caller, scorer, record.request.task, answer, signal);
      return { score: judged.score, feedback: judged.feedback, tokens: judged.tokens };
    }
    throw new ScorerError("invalid", "This search's scorer is the caller: send score");
  }

  /** Records a scored answer: the tree, the record, the answer in one transaction; then progress to the hub. */
  private commit(
    record: SearchRecord,
    search: Search,
    ticket: number,
    answer: string,
    scored: Scored,
    tokens: number,
  ): { node: NodeView; best: NodeView | null; status: SearchRecord["status"] } {
    const before = search.best()?.score ?? null;
    search.tell(ticket, "", scored.score);
    const now = Date.now();
    record.updatedAt = now;
    record.tokensUsed += tokens;
    const best = search.best();
    const improved = best && best.id === ticket && (before === null || (best.score as number) > before);
    if (improved && record.history.length < SEARCH_LIMITS.maxHistory) {
      record.history.push({ node: ticket, score: scored.score, at: now });
    }
    this.settle(record, search);
    this.persist(() => {
      this.sql.exec(
        "INSERT OR REPLACE INTO answers (node, answer, tokens, feedback) VALUES (?, ?, ?, ?)",
        ticket,
        answer,
        tokens,
        scored.feedback,
      );
      this.write("state", search.state);
      this.write("record", record);
    });
    const told = this.nodeView(search, ticket);
    this.publish(record, { kind: "search.node", node: { ...told, answer: null } });
    if (improved) this.publish(record, { kind: "search.best", node: told });
    if (record.status !== "running") this.publish(record, { kind: "search.done", reason: record.reason });
    return { node: told, best: best ? this.nodeView(search, best.id) : null, status: record.status };
  }

  /** Stops a running search whose budget, deadline or target score has been reached. */
  private settle(record: SearchRecord, search: Search): void {
    if (record.status !== "running") return;
    const { budget, stopAtScore } = record.request;
    const best = search.best()?.score ?? -1;
    if (best >= stopAtScore) this.finish(record, "done", "score");
    else if (budget.tokens !== undefined && record.tokensUsed >= budget.tokens) this.finish(record, "done", "tokens");
    else if (search.used >= budget.nodes && search.pending.length === 0) this.finish(record, "done", "budget");
    else this.expire(record);
  }

  /** The seconds budget: a search past it is done (read-time check; no alarm needed in external mode). */
  private expire(record: SearchRecord): void {
    const seconds = record.request.budget.seconds;
    if (record.status === "running" && seconds !== undefined && Date.now() - record.createdAt >= seconds * 1000) {
      this.finish(record, "done", "deadline");
      this.persist(() => this.write("record", record));
    }
  }

  private finish(record: SearchRecord, status: SearchRecord["status"], reason: string): void {
    record.status = status;
    record.reason = reason;
    record.updatedAt = Date.now();
  }

  private nodeView(search: Search, id: number): NodeView {
    const n = search.state.nodes[id];
    if (!n) throw new Error(`no node ${id}`);
    return { id, parent: n.parent, depth: n.depth, model: n.model, score: n.score, answer: this.answer(id) };
  }

  private view(record: SearchRecord, search: Search): SearchView {
    const best = search.best();
    const told = search.state.nodes.filter((n) => n.score !== null).length;
    return {
      id: record.id,
      status: record.status,
      reason: record.reason,
      mode: record.request.mode,
      algorithm: record.request.algorithm,
      models: record.request.models,
      scorer: record.request.scorer.type,
      budget: record.request.budget,
      used: {
        nodes: search.used,
        told,
        tokens: record.tokensUsed,
        seconds: Math.round((Date.now() - record.createdAt) / 1000),
      },
      best: best ? this.nodeView(search, best.id) : null,
      history: record.history,
      createdAt: new Date(record.createdAt).toISOString(),
      updatedAt: new Date(record.updatedAt).toISOString(),
    };
  }

  /**
   * Progress to the owner's channel and the search's room; a hub failure never fails the search. Each event goes
   * out after the one before it has, so watchers see a node before the "best" it made.
   */
  private publish(record: SearchRecord, data: Record<string, unknown>): void {
    const event = { data: { ...data, searchId: record.id } };
    this.published = this.published.then(() =>
      Promise.allSettled([
        publishToRoom(this.env, userRoom(record.owner), event),
        publishToRoom(this.env, searchRoom(record.id), event),
      ]).then(() => undefined),
    );
    this.ctx.waitUntil(this.published);
  }
}
