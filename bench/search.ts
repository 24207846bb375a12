// `npm run bench:search`: file indexing and search on the production runtime (the built bundle on workerd, see
// dev/start.ts). In one run:
//   1. indexing through the real upload route: BENCH_UPLOAD_FILES generated files in multipart requests of 100,
//      two requests in flight (documents/s, end to end: R2 writes, text extraction, tags, Postgres, vocabulary);
//   2. for each size in BENCH_FILE_COUNTS (default 10000): the rest of the corpus BULK-LOADED WITH SQL from this
//      process, through the same indexing code (src/lib/files/indexing.ts: media type, text, rule tags,
//      vocabulary) and multi-row INSERTs; their bytes are NOT written to R2 (search never reads them). On
//      Postgres the rows go straight to the server (node-postgres) and the GIN indexes are built once after the
//      load (timed with it). Then VACUUM (ANALYZE), the disk size, the judged relevance set (nDCG@10 of the first
//      page), then a mixed query set (common, rare and two-word queries, prefixes as typed, typos, known
//      targets, filtered and filter-only searches) over HTTP: p50/p95/p99 per class and overall, one request
//      at a time and BENCH_SEARCH_CONNECTIONS at once;
//   3. the runtime's floor and GET /health in the same run (docs/benchmarks.md).
// DATABASE_URL: a Postgres server (a scratch database is made there and dropped); default PGlite.
// Knobs: BENCH_FILE_COUNTS ("10000" or "100000,1000000", up to 1,000,000), BENCH_UPLOAD_FILES (2000),
// BENCH_QUERY_PASSES (4), BENCH_SEARCH_CONNECTIONS (8), BENCH_EXPLAIN (1: EXPLAIN (ANALYZE, BUFFERS) per class),
// and the common BENCH_ROUNDS, BENCH_DURATION_MS, BENCH_WARMUP_MS.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
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
import {
  beginBench,
  envInt,
  failBench,
  log,
  printResults,
  registerBenchUser,
  settings,
  UNLIMITED_VARS,
} from "./lib/common";
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
/** 1: print EXPLAIN (ANALYZE, BUFFERS) of one query of each class at each size. */
const EXPLAIN = envInt("BENCH_EXPLAIN", 0, 0, 1) === 1;
const HARD_LIMIT_MS = 7_200_000;
/** Rows per bulk INSERT: ~20 columns each stays far under Postgres's 65,535 parameters. */
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

/** Where bulk rows go: the bridge (PGlite), or straight to the Postgres server (node-postgres, no HTTP hop). */
type BulkDb = Pick<HttpDb, "insert" | "execute">;

/** The same indexing as the upload route, then multi-row INSERTs (no R2: search never reads the bytes). */
async function bulkLoad(
  database: BulkDb,
  userId: string,
  count: number,
  startAt: number,
  judgements: Judgements,
): Promise<number> {
  let spent = 0;
  for (let done = 0; done < count; done += BULK_ROWS) {
    const batch = fillerFiles(Math.min(BULK_ROWS, count - done), 1000 + startAt + done, startAt + done);
    judgements.record(batch); // not timed: the bench's own bookkeeping
    const started = performance.now();
    const indexed = await Promise.all(batch.map((f) => indexUpload(f.path, f.bytes, undefined, settingsForIndexing)));
    // Spread over the last year, so recency and the date filters have something to do.
    const now = Date.now();
    const rows = indexed.map((x, i) => {
      const at = new Date(now - ((startAt + done + i) % 365) * 86_400_000 - i * 1000);
      return { ...x.columns, userId, indexedAt: at, createdAt: at, updatedAt: at };
    });
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
  return cases;
}

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
    row(
      "all (mixed)",
      timings.map((t) => t.ms),
    ),
  ];
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const done = beginBench("bench:search", HARD_LIMIT_MS);
  const server = process.env.DATABASE_URL;
  const backend = server ? `Postgres (${new URL(server).host}, a scratch database)` : "PGlite (in this process)";
  log(`backend ${backend}; sizes ${COUNTS.join(", ")}; ${UPLOAD_FILES} files through the upload route`);
  const tmp = await mkdtemp(join(tmpdir(), "tessera-bench-search-"));
  const targets: Target[] = [];
  let throwaway: ThrowawayBridge | undefined;
  let pool: pg.Pool | undefined;
  const facts: Record<string, unknown> = { backend, uploadFiles: UPLOAD_FILES };
  const tables: string[] = [];
  let results: Awaited<ReturnType<typeof runRounds>> = [];
  try {
    throwaway = await startThrowawayBridge(server ? "postgres" : "pglite");
    const floor = await startFloor("floor");
    targets.push(floor);
    const tessera = await startTessera("tessera", {
      databaseUrl: throwaway.bridge.url,
      outDir: join(tmp, "dist"),
      persistDir: join(tmp, "state"),
      vars: { ...(await generateKeyPairSecrets("ES256")), ...UNLIMITED_VARS },
    });
    targets.push(tessera);
    const database = db({ DATABASE_URL: throwaway.bridge.url });
    if (server) pool = new pg.Pool({ connectionString: throwaway.target, max: 1 });
    const bulkDb: BulkDb = pool ? (drizzle(pool) as unknown as BulkDb) : database;

    const registered = await registerBenchUser(tessera);
    const token = registered.accessToken;

    // 1. Through the upload route.
    const judgements = new Judgements((COUNTS.at(-1) ?? 0) + UPLOAD_FILES);
    const sample = [...targetFiles(), ...fillerFiles(UPLOAD_FILES - targetFiles().length, 5, 0)];
    judgements.record(sample);
    const batches: CorpusFile[][] = [];
    for (let i = 0; i < sample.length; i += FILE_LIMITS.filesPerRequest) {
      batches.push(sample.slice(i, i + FILE_LIMITS.filesPerRequest));
    }
    const bytes = sample.reduce((n, f) => n + f.bytes.length, 0);
    let t = performance.now();
    let nextBatch = 0;
    await Promise.all(
      [0, 1].map(async () => {
        while (nextBatch < batches.length) await uploadBatch(tessera, token, batches[nextBatch++] as CorpusFile[]);
      }),
    );
    const uploadMs = performance.now() - t;
    facts.uploadDocsPerSecond = Math.round(sample.length / (uploadMs / 1000));
    facts.uploadMiBPerSecond = Number((bytes / 2 ** 20 / (uploadMs / 1000)).toFixed(2));
    log(
      `upload route: ${sample.length} files (${(bytes / 2 ** 20).toFixed(1)} MiB) in ${batches.length} requests of ` +
        `${FILE_LIMITS.filesPerRequest}, 2 in flight: ${(uploadMs / 1000).toFixed(1)} s = ${facts.uploadDocsPerSecond} documents/s`,
    );

    // 2. Each size: bulk-load up to it, then the query set.
    const cases = querySet(judgements.queries);
    let loaded = sample.length;
    for (const count of COUNTS) {
      const more = count - loaded;
      if (more > 0) {
        const started = performance.now();
        // On Postgres, the GIN indexes are dropped for the load and built again after it (their definitions read
        // back from the catalog first): one build is far cheaper than a GIN insert per row. Timed with the load.
        const gin = pool
          ? await pool.query<{ name: string; def: string }>(
              `select indexname as name, indexdef as def from pg_indexes
               where tablename in ('files', 'file_terms') and indexdef like '%USING gin%'`,
            )
          : undefined;
        for (const index of gin?.rows ?? []) await pool?.query(`drop index ${index.name}`);
        const dropped = performance.now() - started;
        const loadMs = await bulkLoad(bulkDb, registered.user.id, more, loaded, judgements);
        const rebuilt = performance.now();
        if (gin && pool) {
          await pool.query("set maintenance_work_mem = '512MB'");
          for (const index of gin.rows) await pool.query(index.def);
          log(`GIN indexes built again in ${((performance.now() - rebuilt) / 1000).toFixed(1)} s`);
        }
        const ms = dropped + loadMs + (performance.now() - rebuilt);
        log(
          `bulk-loaded ${more} files with SQL (same indexing code, no R2) in ${(ms / 1000).toFixed(1)} s = ` +
            `${Math.round(more / (ms / 1000))} documents/s`,
        );
        facts[`bulkDocsPerSecond@${count}`] = Math.round(more / (ms / 1000));
        loaded = count;
      }
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
      const all = (x: { timings: Timed[] }) => Float64Array.from(x.timings.map((v) => v.ms)).sort();
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
