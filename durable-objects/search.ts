// One search (POST /v1/searches) per object: its record, the algorithm's state and the answers in this object's
// SQLite storage, written in one transaction per told answer, so an eviction or restart resumes exactly where the
// search stopped (the algorithm's random state is stored with it). Progress goes to the hub.
import { DurableObject } from "cloudflare:workers";
import { publishToRoom, userRoom } from "../src/lib/hub/rooms";
import { searchRoom } from "../src/lib/orchestration/rooms";
import { ScorerError, scoreByWebhook, scoreLocally } from "../src/lib/orchestration/scorers";
import { type Ask, Search, SearchError, type SearchState } from "../src/lib/orchestration/search";
import { SEARCH_LIMITS, type SearchRecord, type SearchRequest } from "../src/lib/orchestration/spec";
import { type Env, getConfig } from "../src/lib/platform/env";
import type { ErrorCode } from "../src/lib/platform/errors";
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
];

/** A refusal; the llm-judge scorer's 503 says to come back much later (it waits on the LLM router being enabled). */
const fail = (error: ErrorCode, message: string) =>
  refuse(error, message, error === "unavailable" ? { retryAfter: 3600 } : {});

export class SearchRun extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Tickets being scored by a webhook right now (a second tell of one is refused while the first waits). */
  private readonly scoring = new Set<number>();
  /**
   * The parsed record and search, kept between requests: every write goes through this instance, so the copy is
   * the stored state; a new instance (after an eviction) reads storage again.
   */
  private cached: { record: SearchRecord; search: Search } | null = null;
  /** The last hub publish, which the next one waits for (events reach the rooms in the order they happened). */
  private published: Promise<void> = Promise.resolve();

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

  /** The record and the search for its owner (others learn nothing: not found). */
  private load(owner: string): Refusable<{ record: SearchRecord; search: Search }> {
    if (!this.cached) {
      const record = this.read<SearchRecord>("record");
      const state = this.read<SearchState>("state");
      if (record && state) this.cached = { record, search: new Search(state) };
    }
    if (!this.cached || this.cached.record.owner !== owner) return fail("not_found", "Search not found");
    return { ok: true, value: this.cached };
  }

  create(id: string, owner: string, request: SearchRequest, webhookSecret: string | null): Refusable<SearchView> {
    if (this.read<SearchRecord>("record")) return fail("conflict", "Search exists");
    let search: Search;
    try {
      search = Search.create({
        algorithm: request.algorithm,
        models: request.models,
        maxNodes: request.budget.nodes,
        seed: request.seed ?? 0,
        posterior: request.posterior,
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
    };
    this.persist(() => {
      this.write("record", record);
      this.write("state", search.state);
    });
    this.cached = { record, search };
    return { ok: true, value: this.view(record, search) };
  }

  get(owner: string): Refusable<SearchView> {
    const loaded = this.load(owner);
    if (!loaded.ok) return loaded;
    const { record, search } = loaded.value;
    this.expire(record);
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
    const scorer = record.request.scorer;
    if (score === undefined) {
      if (scorer.type === "caller") return fail("invalid_request", "This search's scorer is the caller: send score");
      if (scorer.type === "llm-judge") return fail("unavailable", "The llm-judge scorer is not available yet");
      const local = scoreLocally(scorer, answer);
      if (local !== null) score = local;
      else if (scorer.type === "webhook") {
        this.scoring.add(ticket);
        try {
          score = await scoreByWebhook(
            scorer.url,
            record.webhookSecret ?? "",
            { searchId: record.id, node: ticket, task: record.request.task, answer },
            getConfig(this.env).jobsInputUrlAllowPrivate,
          );
        } catch (err) {
          if (err instanceof ScorerError)
            return fail(err.kind === "invalid" ? "invalid_request" : "upstream_error", err.message);
          throw err;
        } finally {
          this.scoring.delete(ticket);
        }
      }
    }
    // Read again: other calls may have run while the webhook was scoring.
    const loaded = this.load(owner);
    if (!loaded.ok) return loaded;
    const { record: current, search } = loaded.value;
    if (current.status === "cancelled") return fail("conflict", "The search was cancelled");
    const before = search.best()?.score ?? null;
    try {
      search.tell(ticket, "", score as number);
    } catch (err) {
      if (err instanceof SearchError)
        return fail(err.code === "conflict" ? "conflict" : "invalid_request", err.message);
      throw err;
    }
    const now = Date.now();
    current.updatedAt = now;
    current.tokensUsed += tokens;
    const best = search.best();
    const improved = best && best.id === ticket && (before === null || (best.score as number) > before);
    if (improved && current.history.length < SEARCH_LIMITS.maxHistory) {
      current.history.push({ node: ticket, score: score as number, at: now });
    }
    this.settle(current, search);
    this.persist(() => {
      this.sql.exec("INSERT OR REPLACE INTO answers (node, answer, tokens) VALUES (?, ?, ?)", ticket, answer, tokens);
      this.write("state", search.state);
      this.write("record", current);
    });
    const told = this.nodeView(search, ticket);
    this.publish(current, { kind: "search.node", node: { ...told, answer: null } });
    if (improved) this.publish(current, { kind: "search.best", node: told });
    if (current.status !== "running") this.publish(current, { kind: "search.done", reason: current.reason });
    return {
      ok: true,
      value: { node: told, best: best ? this.nodeView(search, best.id) : null, status: current.status },
    };
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

  /** Progress to the owner's channel and the search's room; a hub failure never fails the search. */
  private publish(record: SearchRecord, data: Record<string, unknown>): void {
    const event = { data: { ...data, searchId: record.id } };
    // In order: independent RPCs may land in any order (a loaded machine showed "done" before the last "best"), so
    // each event waits for the one before it.
    this.published = this.published.then(() =>
      Promise.allSettled([
        publishToRoom(this.env, userRoom(record.owner), event),
        publishToRoom(this.env, searchRoom(record.id), event),
      ]).then(() => undefined),
    );
    this.ctx.waitUntil(this.published);
  }
}
