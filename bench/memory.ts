// `npx tsx bench/memory.ts`: the memory services on the production runtime (the built bundle on workerd, see
// dev/start.ts). In one run: the bare runtime (floor), GET /health, key-value GET and PUT, a memory read by id
// (the KV cache), and memory search over 10,000 memories seeded with one multi-row INSERT.
// Interleaved rounds, medians of 3. Knobs: BENCH_ROUNDS, BENCH_DURATION_MS, BENCH_WARMUP_MS, BENCH_CONNECTIONS,
// BENCH_MEMORIES; DATABASE_URL (a Postgres server: a scratch database is made there and dropped; default PGlite).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { startThrowawayBridge, type ThrowawayBridge } from "../dev/db-bridge/throwaway";
import { db } from "../src/lib/db/client";
import { memories } from "../src/lib/db/schema";
import { generateKeyPairSecrets } from "../src/lib/identity/keys";
import { beginBench, envInt, failBench, log, printResults, registerBenchUser, settings } from "./lib/common";
import { roundLine, runRounds, type Scenario, startFloor, startTessera, type Target } from "./lib/harness";

/** 12,000 at most: one INSERT of five columns a row stays under Postgres's 65,535 parameters. */
const MEMORIES = envInt("BENCH_MEMORIES", 10_000, 100, 12_000);
/**
 * A search is one Postgres statement (with an UPDATE). One connection measures its latency alone; eight show
 * what concurrent searches do to it (PGlite runs one statement at a time; Postgres does not).
 */
const SEARCH_CONNECTIONS = [1, 8] as const;
const HARD_LIMIT_MS = 420_000;

// ---------------------------------------------------------------------------------------------------
// The corpus: deterministic pseudo-random text over a fixed vocabulary, so every run searches the same thing.

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "gi", "hu", "je", "bo"];
/** 600 made-up words; a Zipf-like pick makes a few of them common and most of them rare, as in real text. */
const WORDS = Array.from(
  { length: 600 },
  (_, i) => `${SYLLABLES[i % 15]}${SYLLABLES[Math.floor(i / 15) % 15]}${SYLLABLES[Math.floor(i / 225) % 15]}n`,
);
const TAGS = WORDS.slice(0, 40);

function corpus(userId: string, count: number) {
  const random = rng(42);
  const zipf = () => WORDS[Math.min(WORDS.length - 1, Math.floor(WORDS.length * random() ** 3))] as string;
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    userId,
    type: i % 3 ? "fact" : "episode",
    content: Array.from({ length: 20 + Math.floor(random() * 30) }, zipf).join(" "),
    tags: Array.from({ length: Math.floor(random() * 4) }, () => TAGS[Math.floor(random() * TAGS.length)] as string),
    createdAt: new Date(now - i * 60_000),
  }));
}

// ---------------------------------------------------------------------------------------------------

async function request(target: Target, method: string, path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(new URL(path, target.url), { method, ...init });
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status} before the bench: ${await res.text()}`);
  return res;
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const done = beginBench("bench:memory", HARD_LIMIT_MS);
  log(`search: ${SEARCH_CONNECTIONS.join(" and ")} connections; ${MEMORIES} memories`);

  const tmp = await mkdtemp(join(tmpdir(), "tessera-bench-memory-"));
  const server = process.env.DATABASE_URL;
  const backend = server ? `Postgres (${new URL(server).host}, a scratch database)` : "PGlite (in this process)";
  const targets: Target[] = [];
  let throwaway: ThrowawayBridge | undefined;
  let results: Awaited<ReturnType<typeof runRounds>> = [];
  const facts: Record<string, number | string> = { backend, memories: MEMORIES };
  try {
    throwaway = await startThrowawayBridge(server ? "postgres" : "pglite");
    const bridge = throwaway.bridge;
    const floor = await startFloor("floor");
    targets.push(floor);
    const tessera = await startTessera("tessera", {
      databaseUrl: bridge.url,
      outDir: join(tmp, "dist"),
      persistDir: join(tmp, "state"),
      // One user sends every request: the gateway's per-user request limit would answer 429 within a second.
      vars: {
        ...(await generateKeyPairSecrets("ES256")),
        RATE_LIMIT_USER_PER_MINUTE: "1000000",
        RATE_LIMIT_IP_PER_MINUTE: "1000000",
      },
    });
    targets.push(tessera);
    log(`started: database ${backend}, workerd pids ${targets.map((x) => x.pids.join("+")).join(", ")}`);

    const registered = await registerBenchUser(tessera);
    const auth = { authorization: `Bearer ${registered.accessToken}` };

    // Key-value: one 1 KiB JSON value to read, and the same size written on every PUT.
    const value = JSON.stringify({ data: "v".repeat(1000) });
    await request(tessera, "PUT", "/v1/memory/bench/hot", {
      headers: { ...auth, "content-type": "application/json" },
      body: value,
    });

    // 10,000 memories in one INSERT … VALUES through the bridge, as the Worker would reach the database.
    let t = performance.now();
    const database = db({ DATABASE_URL: bridge.url });
    await database.insert(memories).values(corpus(registered.user.id, MEMORIES));
    facts.seedMs = Math.round(performance.now() - t);
    const created = (await (
      await request(tessera, "POST", "/v1/memories", {
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ type: "fact", content: "one memory to read back by id", tags: ["bench"] }),
      })
    ).json()) as { id: string };

    // A very common word (the worst case: thousands of hits to rank), a rarer one, and two words together.
    const common = WORDS[1] as string;
    const rarer = WORDS[120] as string;
    const pair = `${WORDS[3]} ${WORDS[9]}`;
    const matches = async (q: string) => {
      const r = await database.execute<{ n: number }>(
        sql`select count(*)::int as n from memories where search @@ websearch_to_tsquery('english', ${q})`,
      );
      return Number(r.rows[0]?.n ?? 0);
    };
    facts.commonWordMatches = await matches(common);
    facts.rarerWordMatches = await matches(rarer);
    facts.twoWordMatches = await matches(pair);
    t = performance.now();
    await request(tessera, "GET", `/v1/memories/search?q=${encodeURIComponent(common)}`, { headers: auth });
    facts.firstSearchMs = Math.round(performance.now() - t);
    log(
      `seeded ${MEMORIES} memories in one INSERT in ${facts.seedMs} ms; "${common}" matches ${facts.commonWordMatches}, ` +
        `"${rarer}" ${facts.rarerWordMatches}, "${pair}" ${facts.twoWordMatches}; first search ${facts.firstSearchMs} ms`,
    );
    await request(tessera, "GET", "/health");

    const base = { connections: settings.connections, durationMs: settings.durationMs, warmupMs: settings.warmupMs };
    const searchBase = { ...base, connections: SEARCH_CONNECTIONS[0], baseline: "floor: bare fetch handler" };
    const floorName = "floor: bare fetch handler";
    const scenarios: Scenario[] = [
      { name: floorName, target: floor, path: "/", ...base },
      { name: "GET /health (cached 5 s)", target: tessera, path: "/health", ...base, baseline: floorName },
      {
        // What every /v1 route pays before its own work: the JWT check and the gateway's request limit.
        name: "GET /api/auth/verify (token + limit only)",
        target: tessera,
        path: "/api/auth/verify",
        ...base,
        load: { headers: auth },
        baseline: floorName,
      },
      {
        name: "KV GET /v1/memory/bench/hot (1 KiB)",
        target: tessera,
        path: "/v1/memory/bench/hot",
        ...base,
        load: { headers: auth },
        baseline: floorName,
      },
      {
        name: "KV PUT /v1/memory/bench/put (1 KiB)",
        target: tessera,
        path: "/v1/memory/bench/put",
        ...base,
        load: { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: value },
        baseline: floorName,
      },
      // Alone: the latency of one request with nothing queued behind it (64 connections saturate workerd's one
      // thread, and local KV, Miniflare's simulator, runs in the same process).
      {
        name: "KV GET, 1 connection",
        target: tessera,
        path: "/v1/memory/bench/hot",
        ...base,
        connections: 1,
        load: { headers: auth },
        baseline: floorName,
      },
      {
        name: "KV PUT, 1 connection",
        target: tessera,
        path: "/v1/memory/bench/put",
        ...base,
        connections: 1,
        load: { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: value },
        baseline: floorName,
      },
      {
        name: "GET /v1/memories/:id (KV cache)",
        target: tessera,
        path: `/v1/memories/${created.id}`,
        ...base,
        load: { headers: auth },
        baseline: floorName,
      },
      {
        name: `search common word (${facts.commonWordMatches} of ${MEMORIES} match)`,
        target: tessera,
        path: `/v1/memories/search?q=${encodeURIComponent(common)}&limit=10`,
        ...searchBase,
        load: { headers: auth },
      },
      {
        name: `search common word, ${SEARCH_CONNECTIONS[1]} connections`,
        target: tessera,
        path: `/v1/memories/search?q=${encodeURIComponent(common)}&limit=10`,
        ...searchBase,
        connections: SEARCH_CONNECTIONS[1],
        load: { headers: auth },
      },
      {
        name: `search rarer word (${facts.rarerWordMatches} match)`,
        target: tessera,
        path: `/v1/memories/search?q=${encodeURIComponent(rarer)}&limit=10`,
        ...searchBase,
        load: { headers: auth },
      },
      {
        name: `search 2 words (${facts.twoWordMatches} match)`,
        target: tessera,
        path: `/v1/memories/search?q=${encodeURIComponent(pair)}&limit=10`,
        ...searchBase,
        load: { headers: auth },
      },
    ];
    results = await runRounds(scenarios, {
      rounds: settings.rounds,
      onRound: (s, round, r) => log(roundLine(s, round, r)),
    });
  } finally {
    await Promise.allSettled(targets.map((x) => x.close()));
    await throwaway?.dispose().catch(() => {});
    await rm(tmp, { recursive: true, force: true });
  }

  const totalMs = performance.now() - benchStarted;
  log();
  log(`bench:memory took ${(totalMs / 1000).toFixed(1)} s. Reading the table below:`);
  log("- every /v1 request also passes the token check and the gateway's per-user request limit (a Durable Object");
  log("  call); GET /api/auth/verify is that part alone;");
  log(
    "- local KV is Miniflare's simulator (SQLite and files, inside workerd): KV rows are the Worker's cost, not KV's;",
  );
  log("- with PGlite every query runs on this process's main thread, so search's database time is in client µs/req.");
  printResults("memory", results, { ...facts, totalMs });
  done();
}

main().catch(failBench("bench:memory"));
