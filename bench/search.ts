// `npm run bench:search`: file indexing and search on the production runtime (the built bundle on workerd, see
// dev/start.ts). In one run:
//   1. indexing through the real upload route: BENCH_UPLOAD_FILES generated files in multipart requests of 100,
//      two requests in flight (documents/s, end to end: R2 writes, text extraction, tags, Postgres, vocabulary);
//   2. for each size in BENCH_FILE_COUNTS (default 10000): the rest of the corpus BULK-LOADED WITH SQL from this
//      process, through the same indexing code (src/lib/files/indexing.ts: media type, text, rule tags,
//      vocabulary); their bytes are NOT written to R2 (search never reads them). On Postgres the rows go straight
//      to the server in batches of 2,000 (bench/lib/bulk-files.ts: one JSON parameter a statement, two in flight,
//      secondary indexes and the foreign key rebuilt once after the load, timed with it); on PGlite in multi-row
//      INSERTs through the bridge. Then VACUUM (ANALYZE), the disk size, the judged relevance set (nDCG@10 of the first
//      page), then a mixed query set (common, rare and two-word queries, prefixes as typed, typos, known
//      targets, filtered and filter-only searches) over HTTP: p50/p95/p99 per class and overall, one request
//      at a time and BENCH_SEARCH_CONNECTIONS at once;
//   3. the runtime's floor and GET /health in the same run (docs/benchmarks.md).
// DATABASE_URL: a Postgres server (a scratch database is made there and dropped); default PGlite.
// BENCH_DB=<name> (Postgres, one size): a named database on that server, kept after the run; a later run with the
// same name and size reuses its files (no upload, no load; the judgements are regenerated from the same seeds), so
// the 1,000,000-file corpus is loaded once and measured as often as needed. The bridge migrates it at start.
// Knobs: BENCH_FILE_COUNTS ("10000" or "100000,1000000", up to 1,000,000), BENCH_UPLOAD_FILES (2000),
// BENCH_QUERY_PASSES (4), BENCH_SEARCH_CONNECTIONS (8), BENCH_EXPLAIN (1: EXPLAIN (ANALYZE, BUFFERS) per class),
// and the common BENCH_ROUNDS, BENCH_DURATION_MS, BENCH_WARMUP_MS.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { type Bridge, startBridge } from "../dev/db-bridge/server";
import { startThrowawayBridge, type ThrowawayBridge } from "../dev/db-bridge/throwaway";
import { db, type HttpDb } from "../src/lib/db/client";
import { files } from "../src/lib/db/schema";
import { indexUpload } from "../src/lib/files/indexing";
import { FILE_LIMITS, SearchQuery } from "../src/lib/files/model";
import { explainSearch } from "../src/lib/files/search";
import { activeRules } from "../src/lib/files/tags";
import { generateKeyPairSecrets } from "../src/lib/identity/keys";
import {
  type CorpusFile,
  fillerFiles,
  fillerQueries,
  type JudgedQuery,
  judge,
  judgedQueries,
  judgedWords,
  ndcg,
  TARGETS,
  targetFiles,
} from "../tests/support/file-corpus";
import { BULK_BATCH, bulkLoadFiles } from "./lib/bulk-files";
import { beginBench, envInt, failBench, log, printResults, settings, UNLIMITED_VARS } from "./lib/common";
import { roundLine, runRounds, type Scenario, startFloor, startTessera, type Target } from "./lib/harness";
import { percentile } from "./lib/load";

const COUNTS = (process.env.BENCH_FILE_COUNTS ?? "10000")
  .split(",")
  .map((s) => Number(s.trim()))
  .sort((a, b) => a - b);
if (COUNTS.some((n) => !Number.isInteger(n) || n < 1000 || n > 1_000_000)) {
  throw new Error("BENCH_FILE_COUNTS: sizes between 1000 and 1000000, comma-separated");
}
const UPLOAD_FILES = envInt("BENCH_UPLOAD_FILES", 2000, 100, 20_000);
const QUERY_PASSES = envInt("BENCH_QUERY_PASSES", 4, 1, 50);
const SEARCH_CONNECTIONS = envInt("BENCH_SEARCH_CONNECTIONS", 8, 1, 64);
/** A kept, named database (see the header). */
const NAMED_DB = process.env.BENCH_DB;
if (NAMED_DB !== undefined && (!/^[a-z][a-z0-9_]{0,40}$/.test(NAMED_DB) || COUNTS.length !== 1)) {
  throw new Error("BENCH_DB: a lower-case database name, with exactly one size in BENCH_FILE_COUNTS");
}
if (NAMED_DB !== undefined && !process.env.DATABASE_URL) throw new Error("BENCH_DB needs DATABASE_URL (Postgres)");
/** 1: print EXPLAIN (ANALYZE, BUFFERS) of one query of each class at each size. */
const EXPLAIN = envInt("BENCH_EXPLAIN", 0, 0, 1) === 1;
const HARD_LIMIT_MS = 7_200_000;
/** Rows per bulk INSERT through the bridge (PGlite): ~20 columns each stays far under 65,535 parameters. */
const BULK_ROWS = 1000;

const settingsForIndexing = {
  indexMaxBytes: 128 * 1024,
  inlineIndexMaxBytes: 1024 * 1024,
  tagRules: activeRules({ disable: [], add: [] }),
  vocabularyPerFile: FILE_LIMITS.vocabularyPerFile,
};

async function request(target: Target, method: string, path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(new URL(path, target.url), { method, ...init });
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
  return res;
}

async function uploadBatch(target: Target, token: string, batch: CorpusFile[]): Promise<void> {
  const form = new FormData();
  for (const f of batch) form.append("file", new File([f.bytes], f.path));
  await request(target, "POST", "/v1/files", { headers: { authorization: `Bearer ${token}` }, body: form });
}

/**
 * The judged relevance set: the filler queries of judgedQueries with every generated file's grade for each (judge,
 * from the file alone), kept by the file's number (in its name), and how many files hold each grade.
 */
class Judgements {
  readonly queries = judgedQueries(99, 50);
  readonly grades: Uint8Array[];
  readonly counts: number[][];
  constructor(size: number) {
    this.grades = this.queries.map(() => new Uint8Array(size));
    this.counts = this.queries.map(() => [0, 0, 0, 0]);
  }
  static numberOf(path: string): number | undefined {
    const m = /[_-](\d+)\.\w+$/.exec(path);
    return m ? Number(m[1]) : undefined;
  }
  record(batch: readonly CorpusFile[]): void {
    for (const file of batch) {
      const n = Judgements.numberOf(file.path);
      if (n === undefined) continue;
      const seen = judgedWords(file);
      for (const [q, query] of this.queries.entries()) {
        const g = judge(seen, query);
        (this.grades[q] as Uint8Array)[n] = g;
        const counts = this.counts[q] as number[];
        counts[g] = (counts[g] ?? 0) + 1;
      }
    }
  }
  ndcgOf(q: number, paths: readonly string[]): number {
    const grades = paths.map((p) => {
      const n = Judgements.numberOf(p);
      return n === undefined ? 0 : ((this.grades[q] as Uint8Array)[n] ?? 0);
    });
    return ndcg(grades, this.counts[q] as number[]);
  }
}

/**
 * The generated corpus past the uploaded sample, in chunks of 1,000 from `startAt` (each chunk's seed is its
 * position, so the same sizes always give the same files): `next(n)` hands out the next n files and records them
 * for the judgements (the bench's own bookkeeping).
 */
function corpusFeed(
  startAt: number,
  judgements: Judgements,
): { next: (n: number) => CorpusFile[]; judgingMs: () => number } {
  let at = startAt;
  let judging = 0;
  const next = (n: number) => {
    const out: CorpusFile[] = [];
    for (let end = at + n; at < end; ) {
      const size = Math.min(BULK_ROWS - ((at - startAt) % BULK_ROWS), end - at);
      out.push(...fillerFiles(size, 1000 + at, at));
      at += size;
    }
    const t = performance.now();
    judgements.record(out);
    judging += performance.now() - t;
    return out;
  };
  return { next, judgingMs: () => judging };
}

/** The bench's owner and timestamps on indexing's columns: spread over the last year, so recency and the date
 * filters have something to do. */
function stamp(userId: string, now: number) {
  return <T>(columns: T, i: number) => {
    const at = new Date(now - (i % 365) * 86_400_000 - (i % 1000) * 1000);
    return { ...columns, userId, indexedAt: at, createdAt: at, updatedAt: at };
  };
}

/** PGlite: the same indexing as the upload route, then multi-row INSERTs through the bridge. */
async function bulkLoadThroughBridge(
  database: HttpDb,
  userId: string,
  count: number,
  startAt: number,
  next: (n: number) => CorpusFile[],
): Promise<number> {
  let spent = 0;
  const stamped = stamp(userId, Date.now());
  for (let done = 0; done < count; done += BULK_ROWS) {
    const batch = next(Math.min(BULK_ROWS, count - done));
    const started = performance.now();
    const indexed = await Promise.all(batch.map((f) => indexUpload(f.path, f.bytes, undefined, settingsForIndexing)));
    const rows = indexed.map((x, i) => stamped(x.columns, startAt + done + i));
    const terms = [...new Set(indexed.flatMap((x) => x.terms))];
    await database.insert(files).values(rows);
    await database.execute(
      sql`insert into file_terms (user_id, term) select ${userId}::uuid, t from unnest(${sql.param(terms)}::text[]) as t on conflict do nothing`,
    );
    spent += performance.now() - started;
  }
  return spent;
}

interface QueryCase {
  kind: string;
  path: string;
  /** A known file that must come first. */
  expect?: string;
  /** Its place in the judged relevance set. */
  judged?: number;
  /** The status it must get when not 200 (bad input refused). */
  status?: number;
}

function querySet(judged: readonly JudgedQuery[]): QueryCase[] {
  const cases: QueryCase[] = judged.map((q, i) => ({
    kind: q.kind,
    path: `/v1/files/search?q=${encodeURIComponent(q.q)}&limit=20`,
    judged: i,
  }));
  const known: [string, string][] = [
    ["quarterly revenue forecast", TARGETS.forecast.path],
    ["kubernetes deployment", TARGETS.kubernetes.path],
    ["kubrenetes deploymnt", TARGETS.kubernetes.path],
    ["recieve paymnet", TARGETS.payment.path],
    ["invo", "/finance/invoice-2024-03.pdf"],
    ["cafe aurora", TARGETS.landing.path],
  ];
  for (const [q, path] of known) {
    cases.push({ kind: "known target", path: `/v1/files/search?q=${encodeURIComponent(q)}&limit=20`, expect: path });
  }
  const words = fillerQueries(7, 10);
  for (const [i, w] of words.entries()) {
    const filter = ["type=code", "tags=python", "type=md&minSize=500", "after=2026-06-01", "tags=project:orion"][i % 5];
    cases.push({ kind: "word + filter", path: `/v1/files/search?q=${encodeURIComponent(w)}&${filter}&limit=20` });
  }
  cases.push({ kind: "filters only", path: "/v1/files/search?type=py&limit=20" });
  cases.push({ kind: "filters only", path: "/v1/files/search?tags=project:vega,code&limit=20" });
  // Bad input stays cheap (docs/files.md "Limits"): answered, or refused before any SQL.
  const bad: [string, number?][] = [
    ["the of and"],
    ["?!... --- ;;"],
    [Array.from({ length: 64 }, (_, i) => `w${i}`).join(" ")],
    [Array.from({ length: 1000 }, (_, i) => `w${i}`).join(" "), 400],
    ["x".repeat(10_000), 400],
  ];
  for (const [q, status] of bad) {
    cases.push({ kind: BAD_INPUT, path: `/v1/files/search?q=${encodeURIComponent(q)}&limit=20`, status });
  }
  return cases;
}

const BAD_INPUT = "bad input";

interface Timed {
  kind: string;
  ms: number;
}

async function runQueries(
  target: Target,
  token: string,
  cases: QueryCase[],
  passes: number,
  connections: number,
  judgements?: Judgements,
): Promise<{ timings: Timed[]; wallMs: number; misses: string[]; ndcg: Map<string, number[]>; estimated: number }> {
  const ndcgByKind = new Map<string, number[]>();
  let estimated = 0;
  const queue: QueryCase[] = [];
  for (let p = 0; p < passes; p++) queue.push(...cases);
  const timings: Timed[] = [];
  const misses = new Set<string>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < queue.length) {
        const c = queue[next++] as QueryCase;
        const t = performance.now();
        if (c.status !== undefined) {
          const res = await fetch(new URL(c.path, target.url), { headers: { authorization: `Bearer ${token}` } });
          await res.arrayBuffer();
          timings.push({ kind: c.kind, ms: performance.now() - t });
          if (res.status !== c.status) misses.add(`${c.path.slice(0, 60)}… answered ${res.status}, not ${c.status}`);
          continue;
        }
        const res = await request(target, "GET", c.path, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { results: { item: { path: string } }[]; estimated?: boolean };
        timings.push({ kind: c.kind, ms: performance.now() - t });
        if (c.expect && body.results[0]?.item.path !== c.expect)
          misses.add(`${c.path} → ${body.results[0]?.item.path}`);
        if (body.estimated) estimated++;
        if (judgements && c.judged !== undefined) {
          const score = judgements.ndcgOf(
            c.judged,
            body.results.map((r) => r.item.path),
          );
          ndcgByKind.set(c.kind, [...(ndcgByKind.get(c.kind) ?? []), score]);
        }
      }
    }),
  );
  return { timings, wallMs: performance.now() - started, misses: [...misses], ndcg: ndcgByKind, estimated };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function latencyRows(label: string, timings: Timed[]): string[] {
  const kinds = [...new Set(timings.map((t) => t.kind))];
  const row = (name: string, ms: number[]) => {
    const sorted = Float64Array.from(ms).sort();
    const f = (p: number) => percentile(sorted, p).toFixed(1).padStart(7);
    return `| ${label.padEnd(22)} | ${name.padEnd(16)} | ${String(ms.length).padStart(5)} | ${f(50)} | ${f(95)} | ${f(99)} |`;
  };
  return [
    ...kinds.map((k) =>
      row(
        k,
        timings.filter((t) => t.kind === k).map((t) => t.ms),
      ),
    ),
    // The mixed set is the searches proper: bad input (mostly refused) is its own row.
    row(
      "all (mixed)",
      timings.filter((t) => t.kind !== BAD_INPUT).map((t) => t.ms),
    ),
  ];
}

/** BENCH_DB's database on `server`, made if missing; its URL. */
async function namedDatabase(server: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    const found = await admin.query("select 1 from pg_database where datname = $1", [name]);
    if (found.rowCount === 0) await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/** What a kept database says about the corpus an earlier run loaded into it (the bench's own table). */
async function keptCorpus(
  pool: pg.Pool,
  count: number,
): Promise<{ username: string; uploadFiles: number; loadedAt: string } | undefined> {
  await pool.query(`create table if not exists bench_search_corpus (username text not null, files int not null,
    upload_files int not null, loaded_at timestamptz not null default now())`);
  const { rows } = await pool.query<{ username: string; files: number; upload_files: number; loaded_at: Date }>(
    "select * from bench_search_corpus",
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.files !== count) throw new Error(`BENCH_DB holds ${row.files} files, not ${count}: use another name`);
  return { username: row.username, uploadFiles: row.upload_files, loadedAt: row.loaded_at.toISOString() };
}

async function keepCorpus(pool: pg.Pool, username: string, count: number, uploadFiles: number): Promise<void> {
  await pool.query("insert into bench_search_corpus (username, files, upload_files) values ($1, $2, $3)", [
    username,
    count,
    uploadFiles,
  ]);
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const done = beginBench("bench:search", HARD_LIMIT_MS);
  const server = process.env.DATABASE_URL;
  const backend = server
    ? `Postgres (${new URL(server).host}, ${NAMED_DB ? `the kept database ${NAMED_DB}` : "a scratch database"})`
    : "PGlite (in this process)";
  log(`backend ${backend}; sizes ${COUNTS.join(", ")}; ${UPLOAD_FILES} files through the upload route`);
  const tmp = await mkdtemp(join(tmpdir(), "tessera-bench-search-"));
  const targets: Target[] = [];
  let throwaway: ThrowawayBridge | undefined;
  let kept: Bridge | undefined;
  let pool: pg.Pool | undefined;
  const facts: Record<string, unknown> = { backend, uploadFiles: UPLOAD_FILES };
  const tables: string[] = [];
  let results: Awaited<ReturnType<typeof runRounds>> = [];
  try {
    let bridgeUrl: string;
    let target: string;
    if (server && NAMED_DB) {
      target = await namedDatabase(server, NAMED_DB);
      kept = await startBridge({ databaseUrl: target, port: 0 });
      bridgeUrl = kept.url;
    } else {
      throwaway = await startThrowawayBridge(server ? "postgres" : "pglite");
      bridgeUrl = throwaway.bridge.url;
      target = throwaway.target;
    }
    const floor = await startFloor("floor");
    targets.push(floor);
    const tessera = await startTessera("tessera", {
      databaseUrl: bridgeUrl,
      outDir: join(tmp, "dist"),
      persistDir: join(tmp, "state"),
      vars: { ...(await generateKeyPairSecrets("ES256")), ...UNLIMITED_VARS },
    });
    targets.push(tessera);
    const database = db({ DATABASE_URL: bridgeUrl });
    if (server) pool = new pg.Pool({ connectionString: target, max: 2 });
    // A kept database that already holds this size: its owner signs in, and nothing is uploaded or loaded.
    const reuse = pool && NAMED_DB ? await keptCorpus(pool, COUNTS[0] as number) : undefined;
    const name = reuse?.username ?? `bench${Date.now().toString(36)}`;
    const password = "bench password 1";
    const registered = (await (
      await request(tessera, "POST", reuse ? "/v1/auth/login" : "/v1/auth/register", {
        headers: { "content-type": "application/json" },
        body: JSON.stringify(
          reuse ? { username: name, password } : { username: name, email: `${name}@example.com`, password },
        ),
      })
    ).json()) as { accessToken: string; user: { id: string } };
    let token = registered.accessToken;
    // A fresh access token once the corpus is in: loading 1,000,000 files outlasts one.
    const signIn = async () => {
      const res = await request(tessera, "POST", "/v1/auth/login", {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: name, password }),
      });
      token = ((await res.json()) as { accessToken: string }).accessToken;
    };

    // 1. Through the upload route.
    const uploadFiles = reuse?.uploadFiles ?? UPLOAD_FILES;
    const judgements = new Judgements((COUNTS.at(-1) ?? 0) + uploadFiles);
    const sample = [...targetFiles(), ...fillerFiles(uploadFiles - targetFiles().length, 5, 0)];
    judgements.record(sample);
    const batches: CorpusFile[][] = [];
    for (let i = 0; i < sample.length; i += FILE_LIMITS.filesPerRequest) {
      batches.push(sample.slice(i, i + FILE_LIMITS.filesPerRequest));
    }
    const bytes = sample.reduce((n, f) => n + f.bytes.length, 0);
    let t = performance.now();
    let nextBatch = reuse ? batches.length : 0;
    await Promise.all(
      [0, 1].map(async () => {
        while (nextBatch < batches.length) await uploadBatch(tessera, token, batches[nextBatch++] as CorpusFile[]);
      }),
    );
    const uploadMs = performance.now() - t;
    if (!reuse) {
      facts.uploadDocsPerSecond = Math.round(sample.length / (uploadMs / 1000));
      facts.uploadMiBPerSecond = Number((bytes / 2 ** 20 / (uploadMs / 1000)).toFixed(2));
      log(
        `upload route: ${sample.length} files (${(bytes / 2 ** 20).toFixed(1)} MiB) in ${batches.length} requests of ` +
          `${FILE_LIMITS.filesPerRequest}, 2 in flight: ${(uploadMs / 1000).toFixed(1)} s = ${facts.uploadDocsPerSecond} documents/s`,
      );
    }

    // 2. Each size: bulk-load up to it, then the query set.
    const cases = querySet(judgements.queries);
    let loaded = sample.length;
    for (const count of COUNTS) {
      const more = count - loaded;
      const feed = corpusFeed(loaded, judgements);
      if (reuse) {
        // The kept database holds these files already: only the judgements are regenerated.
        for (let done = 0; done < more; done += BULK_BATCH) feed.next(Math.min(BULK_BATCH, more - done));
        log(`reused ${NAMED_DB}: ${count} files loaded by an earlier run (${reuse.loadedAt})`);
      } else if (more > 0 && pool) {
        const loadedAt = performance.now();
        const r = await bulkLoadFiles(
          pool,
          more,
          feed.next,
          (columns, i) => stamp(registered.user.id, Date.now())(columns, loaded + i),
          settingsForIndexing,
          registered.user.id,
        );
        const ms = performance.now() - loadedAt - feed.judgingMs();
        log(
          `bulk-loaded ${more} files with SQL (same indexing code, no R2): rows in ${((r.loadMs - feed.judgingMs()) / 1000).toFixed(1)} s ` +
            `(${Math.round(more / ((r.loadMs - feed.judgingMs()) / 1000))} documents/s), vocabulary, indexes and foreign keys after ` +
            `in ${(r.finishMs / 1000).toFixed(1)} s: ${(ms / 1000).toFixed(1)} s in all = ${Math.round(more / (ms / 1000))} documents/s`,
        );
        facts[`bulkDocsPerSecond@${count}`] = Math.round(more / (ms / 1000));
        facts[`bulkRowsPerSecond@${count}`] = Math.round(more / ((r.loadMs - feed.judgingMs()) / 1000));
        if (NAMED_DB) await keepCorpus(pool, name, count, uploadFiles);
      } else if (more > 0) {
        const ms = await bulkLoadThroughBridge(database, registered.user.id, more, loaded, feed.next);
        log(
          `bulk-loaded ${more} files through the bridge (same indexing code, no R2) in ${(ms / 1000).toFixed(1)} s = ` +
            `${Math.round(more / (ms / 1000))} documents/s`,
        );
        facts[`bulkDocsPerSecond@${count}`] = Math.round(more / (ms / 1000));
      }
      if (more > 0) {
        loaded = count;
      }
      await signIn();
      t = performance.now();
      // What autovacuum does after a bulk load: statistics for the planner, and the visibility map that lets a
      // count skip the heap.
      await database.execute(sql`vacuum (analyze) files`);
      await database.execute(sql`vacuum (analyze) file_terms`);
      log(`VACUUM (ANALYZE) in ${Math.round(performance.now() - t)} ms`);
      const stats = await database.execute<{ n: number; terms: number }>(
        sql`select (select count(*) from files)::int as n, (select count(*) from file_terms)::int as terms`,
      );
      log(`${stats.rows[0]?.n} files, ${stats.rows[0]?.terms} vocabulary words`);
      const sizes = await database.execute<{ files: string; indexes: string; terms: string }>(
        sql`select pg_size_pretty(pg_total_relation_size('files')) as files, pg_size_pretty(pg_indexes_size('files')) as indexes,
          pg_size_pretty(pg_total_relation_size('file_terms')) as terms`,
      );
      const size = sizes.rows[0];
      log(`on disk: files ${size?.files} (of which indexes ${size?.indexes}), vocabulary ${size?.terms}`);
      facts[`diskFiles@${count}`] = size?.files;
      facts[`diskFileIndexes@${count}`] = size?.indexes;
      facts[`diskVocabulary@${count}`] = size?.terms;
      // Warm-up (every query once) and the judged relevance set: nDCG@10 of the first page.
      const judgedRun = await runQueries(tessera, token, cases, 1, 1, judgements);
      const allNdcg = [...judgedRun.ndcg.values()].flat();
      log(
        `${count} files: nDCG@10 ${mean(allNdcg).toFixed(4)} over ${allNdcg.length} judged queries (` +
          [...judgedRun.ndcg].map(([k, v]) => `${k} ${mean(v).toFixed(4)}`).join(", ") +
          `); ${judgedRun.estimated} of ${cases.length} answers had an estimated total`,
      );
      facts[`ndcg10@${count}`] = Number(mean(allNdcg).toFixed(4));
      const one = await runQueries(tessera, token, cases, QUERY_PASSES, 1);
      const many = await runQueries(tessera, token, cases, QUERY_PASSES, SEARCH_CONNECTIONS);
      for (const miss of [...one.misses, ...many.misses]) log(`  ranking miss: ${miss}`);
      if (EXPLAIN) {
        for (const kind of new Set(cases.map((c) => c.kind))) {
          const c = cases.find((x) => x.kind === kind) as QueryCase;
          const params = Object.fromEntries(new URL(c.path, "http://x").searchParams);
          const { type, ...rest } = SearchQuery.parse(params);
          const plans = await explainSearch(database, registered.user.id, { ...rest, types: type });
          log(`EXPLAIN (ANALYZE, BUFFERS) at ${count} files, ${kind}: ${c.path}`);
          for (const plan of plans) log(`${plan}\n`);
        }
      }
      tables.push(...latencyRows(`${count}, 1 conn`, one.timings));
      tables.push(...latencyRows(`${count}, ${SEARCH_CONNECTIONS} conns`, many.timings));
      const all = (x: { timings: Timed[] }) =>
        Float64Array.from(x.timings.filter((v) => v.kind !== BAD_INPUT).map((v) => v.ms)).sort();
      facts[`search@${count}`] = {
        oneConnection: { p50: percentile(all(one), 50), p95: percentile(all(one), 95), p99: percentile(all(one), 99) },
        connections: SEARCH_CONNECTIONS,
        concurrent: {
          p50: percentile(all(many), 50),
          p95: percentile(all(many), 95),
          p99: percentile(all(many), 99),
          searchesPerSecond: Math.round(many.timings.length / (many.wallMs / 1000)),
        },
        rankingMisses: one.misses.length,
      };
      log(
        `${count} files: mixed set p50 ${percentile(all(one), 50).toFixed(1)} ms, p95 ${percentile(all(one), 95).toFixed(1)} ms, ` +
          `p99 ${percentile(all(one), 99).toFixed(1)} ms (1 connection); ${SEARCH_CONNECTIONS} connections: ` +
          `${Math.round(many.timings.length / (many.wallMs / 1000))} searches/s`,
      );
    }

    // 3. Floor, /health and one common-word search on the harness, in the same run.
    const base = { connections: settings.connections, durationMs: settings.durationMs, warmupMs: settings.warmupMs };
    const floorName = "floor: bare fetch handler";
    const scenarios: Scenario[] = [
      { name: floorName, target: floor, path: "/", ...base },
      { name: "GET /health (cached 5 s)", target: tessera, path: "/health", ...base, baseline: floorName },
      {
        name: `search common word, 1 conn (${COUNTS.at(-1)} files)`,
        target: tessera,
        path: (cases[0] as QueryCase).path,
        ...base,
        connections: 1,
        load: { headers: { authorization: `Bearer ${token}` } },
        baseline: floorName,
      },
    ];
    results = await runRounds(scenarios, { rounds: settings.rounds, onRound: (s, r, x) => log(roundLine(s, r, x)) });
  } finally {
    await Promise.allSettled(targets.map((x) => x.close()));
    await pool?.end().catch(() => {});
    await throwaway?.dispose().catch(() => {});
    await kept?.close().catch(() => {});
    await rm(tmp, { recursive: true, force: true });
  }
  log();
  log("Search latency over HTTP, client-observed (ms), the mixed query set:");
  log("| files, connections      | query class      |     n |     p50 |     p95 |     p99 |");
  log("| ---------------------- | ---------------- | ----: | ------: | ------: | ------: |");
  for (const line of tables) log(line);
  log();
  log(`bench:search took ${((performance.now() - benchStarted) / 1000).toFixed(0)} s.`);
  printResults("search", results, facts);
  done();
}

main().catch(failBench("bench:search"));
