// bench:mcts's service half, against `npm run start` (the production runtime): the overhead of one external-mode
// ask/tell round trip (the caller's generation and scoring cost nothing here), and searches per second completed
// end to end (create, 16 ask/tell rounds, read the result) by concurrent clients.
import { envInt, log, registerBenchUser, startBenchTessera } from "./common";
import type { Target } from "./harness";
import { percentile } from "./load";

const ROUNDS = envInt("BENCH_MCTS_ROUNDS", 400, 10, 100_000);
const SEARCHES = envInt("BENCH_MCTS_SEARCHES", 200, 1, 100_000);
const CLIENTS = envInt("BENCH_MCTS_CLIENTS", 16, 1, 256);
const NODES = 16;

async function call<T>(target: Target, method: string, path: string, token: string, body?: unknown): Promise<T> {
  const res = await fetch(new URL(path, target.url), {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch((err: Error) => {
    throw new Error(`${method} ${path}: ${err.message} (${String((err.cause as Error | undefined)?.message)})`);
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function register(target: Target, name: string): Promise<string> {
  return (await registerBenchUser(target, name)).accessToken;
}

const searchBody = (nodes: number, seed: number) => ({
  task: "bench",
  models: ["a", "b"],
  algorithm: "ab-mcts-a",
  scorer: { type: "caller" },
  budget: { nodes },
  seed,
  mode: "external",
  stopAtScore: 1,
});

interface Ask {
  ticket: number;
}

/** One ask and its tell; returns the round trip's two request times in ms. */
async function round(target: Target, token: string, id: string, score: number): Promise<number | null> {
  const started = performance.now();
  const { asks } = await call<{ asks: Ask[] }>(target, "POST", `/v1/searches/${id}/ask`, token, { count: 1 });
  const ask = asks[0];
  if (!ask) return null;
  await call(target, "POST", `/v1/searches/${id}/tell`, token, { ticket: ask.ticket, answer: "x", score });
  return performance.now() - started;
}

export interface ServiceFigures {
  roundTrip: { rounds: number; p50Ms: number; p99Ms: number };
  read: { p50Ms: number; p99Ms: number };
  searches: { completed: number; clients: number; nodesEach: number; perSecond: number };
}

export async function runServiceBench(): Promise<ServiceFigures> {
  log();
  log(
    `service: ${ROUNDS} sequential ask/tell rounds, then ${SEARCHES} searches of ${NODES} nodes by ${CLIENTS} clients`,
  );
  const { tessera, close } = await startBenchTessera("tessera-bench-mcts");
  try {
    const tokens = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => register(tessera, `mctsbench${i}`)));
    const first = tokens[0] as string;
    // Round-trip overhead: one search, one client, sequential (warm-up rounds first).
    const { id } = await call<{ id: string }>(tessera, "POST", "/v1/searches", first, searchBody(512, 1));
    for (let i = 0; i < 20; i++) await round(tessera, first, id, 0.1);
    const times: number[] = [];
    let sid = id;
    for (let i = 0; i < ROUNDS; i++) {
      let t = await round(tessera, first, sid, ((i * 37) % 97) / 100);
      if (t === null) {
        sid = (await call<{ id: string }>(tessera, "POST", "/v1/searches", first, searchBody(512, i))).id;
        t = await round(tessera, first, sid, 0.1);
      }
      times.push(t as number);
    }
    times.sort((a, b) => a - b);
    const roundTrip = { rounds: ROUNDS, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
    log(`ask/tell round trip: p50 ${roundTrip.p50Ms.toFixed(2)} ms, p99 ${roundTrip.p99Ms.toFixed(2)} ms`);
    // The floor to compare with: an authenticated read of the same search (one request, no state written).
    const reads: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t = performance.now();
      await call(tessera, "GET", `/v1/searches/${sid}`, first);
      reads.push(performance.now() - t);
    }
    reads.sort((a, b) => a - b);
    const read = { p50Ms: percentile(reads, 50), p99Ms: percentile(reads, 99) };
    log(
      `GET /v1/searches/:id (one request, for comparison): p50 ${read.p50Ms.toFixed(2)} ms, p99 ${read.p99Ms.toFixed(2)} ms`,
    );

    // Searches per second: each client runs whole searches back to back.
    let next = 0;
    const started = performance.now();
    await Promise.all(
      tokens.map(async (token) => {
        while (next < SEARCHES) {
          const n = next++;
          const s = await call<{ id: string }>(tessera, "POST", "/v1/searches", token, searchBody(NODES, n));
          while ((await round(tessera, token, s.id, 0.5)) !== null) {
            // rounds until the budget is spent
          }
          const view = await call<{ status: string }>(tessera, "GET", `/v1/searches/${s.id}`, token);
          if (view.status !== "done") throw new Error(`search ${s.id} ended ${view.status}`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const searches = { completed: SEARCHES, clients: CLIENTS, nodesEach: NODES, perSecond: SEARCHES / seconds };
    log(`searches: ${SEARCHES} of ${NODES} nodes in ${seconds.toFixed(1)} s = ${searches.perSecond.toFixed(1)}/s`);
    return { roundTrip, read, searches };
  } finally {
    await close();
  }
}
