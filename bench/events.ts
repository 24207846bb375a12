// `npm run bench:events`: analytics on the production runtime (the built bundle on workerd, see dev/start.ts).
// In one run: GET / on two Tessera instances alike but for REQUEST_METRICS (off, on), to read the workerd CPU that
// recording request metrics adds per request; then POST /v1/events with 100 events a request (events/s accepted)
// and the time until the EVENTS consumer has stored every one of them (events/s stored, end to end).
// Interleaved rounds, medians of 3. Knobs: BENCH_ROUNDS, BENCH_DURATION_MS, BENCH_WARMUP_MS, BENCH_CONNECTIONS.
import {
  beginBench,
  expectStatus,
  failBench,
  log,
  printResults,
  registerBenchUser,
  settings,
  startBenchTessera,
} from "./lib/common";
import { roundLine, runRounds, type Scenario, type Target } from "./lib/harness";

const HARD_LIMIT_MS = 420_000;
const EVENTS_PER_REQUEST = 100;
const EVENT_NAME = "bench.event";

const register = (target: Target) => registerBenchUser(target);

/** The user's stored count of EVENT_NAME, from their own analytics summary. */
async function storedEvents(target: Target, token: string): Promise<number> {
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const res = await fetch(new URL(`/v1/analytics/summary?bucket=hour&from=${encodeURIComponent(from)}`, target.url), {
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`summary answered ${res.status}`);
  const summary = (await res.json()) as { events: { name: string; count: number }[] };
  return summary.events.find((e) => e.name === EVENT_NAME)?.count ?? 0;
}

async function main(): Promise<void> {
  const done = beginBench("bench:events", HARD_LIMIT_MS);
  const started = performance.now();
  // Both flush as the default does (every 5 s per isolate), so "on" pays what production pays.
  const off = await startBenchTessera("tessera-events-off", { REQUEST_METRICS: "false" });
  const on = await startBenchTessera("tessera-events-on", { REQUEST_METRICS: "true", METRICS_FLUSH_MS: "5000" });
  let results: Awaited<ReturnType<typeof runRounds>> = [];
  const facts: Record<string, number> = {};
  try {
    for (const t of [off.tessera, on.tessera]) await expectStatus(t, "/", 200);
    const { accessToken } = await register(on.tessera);
    const batch = JSON.stringify({
      events: Array.from({ length: EVENTS_PER_REQUEST }, (_, i) => ({ name: EVENT_NAME, value: i, props: { i } })),
    });
    const base = { connections: settings.connections, durationMs: settings.durationMs, warmupMs: settings.warmupMs };
    const offName = "GET / request metrics off";
    // The request-metrics pair first, interleaved; the events load after it, so the EVENTS consumer's draining
    // (it runs in the "on" instance's workerd) never lands in the pair's CPU readings.
    const pair: Scenario[] = [
      { name: offName, target: off.tessera, path: "/", ...base },
      { name: "GET / request metrics on", target: on.tessera, path: "/", ...base, baseline: offName },
    ];
    const ingest: Scenario = {
      name: `POST /v1/events (${EVENTS_PER_REQUEST} events)`,
      target: on.tessera,
      path: "/v1/events",
      ...base,
      connections: Math.min(base.connections, 16),
      load: {
        method: "POST",
        headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
        body: batch,
      },
    };
    const onRound = (s: Scenario, round: number, r: Parameters<typeof roundLine>[2]) => log(roundLine(s, round, r));
    results = [
      ...(await runRounds(pair, { rounds: settings.rounds, onRound })),
      ...(await runRounds([ingest], { rounds: settings.rounds, onRound })),
    ];
    const [offResult, onResult, eventsResult] = results;
    if (!offResult || !onResult || !eventsResult) throw new Error("missing results");
    facts.metricsCpuUsPerReq =
      Math.round((onResult.median.serverCpuUsPerReq - offResult.median.serverCpuUsPerReq) * 10) / 10;
    facts.metricsCpuRatio =
      Math.round((onResult.median.serverCpuUsPerReq / offResult.median.serverCpuUsPerReq) * 1000) / 1000;
    facts.eventsAcceptedPerSec = Math.round(eventsResult.median.rps * EVENTS_PER_REQUEST);

    // Every accepted event (warm-ups included) must reach the table; measure how long the consumer takes.
    const drainStarted = performance.now();
    const acceptedTotal = eventsResult.rounds.reduce((n, r) => n + r.load.requests, 0) * EVENTS_PER_REQUEST;
    let stored = await storedEvents(on.tessera, accessToken);
    let last = -1;
    while (stored !== last) {
      last = stored;
      await new Promise((r) => setTimeout(r, 3000));
      stored = await storedEvents(on.tessera, accessToken);
    }
    facts.eventsStored = stored;
    facts.eventsAcceptedMeasured = acceptedTotal;
    facts.drainMs = Math.round(performance.now() - drainStarted);
    log(
      `request metrics add ${facts.metricsCpuUsPerReq} µs of workerd CPU per request (×${facts.metricsCpuRatio}); ` +
        `events: ${facts.eventsAcceptedPerSec}/s accepted, ${stored} stored (${acceptedTotal} in measured windows), ` +
        `queue drained ${facts.drainMs} ms after the load stopped`,
    );
  } finally {
    await off.close();
    await on.close();
  }
  printResults("events", results, { ...facts, totalMs: Math.round(performance.now() - started) });
  done();
}

main().catch(failBench("bench:events"));
