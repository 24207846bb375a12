// `npm run bench:gateway`: the same upstream route reached directly and through Tessera's gateway proxy
// (the production runtime, dev/start.ts), in one run, and the ratio. The old Go gateway managed 1,716 req/s.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beginBench, expectStatus, failBench, log, printResults, settings } from "./lib/common";
import { roundLine, runRounds, type Scenario, startTessera, type Target } from "./lib/harness";
import { startUpstream } from "./lib/upstream";

const NAME = "bench:gateway";

async function main(): Promise<void> {
  const end = beginBench(NAME, 300_000);
  const tmp = await mkdtemp(join(tmpdir(), "tessera-bench-gw-"));
  const targets: Target[] = [];
  try {
    const upstream = await startUpstream();
    targets.push(upstream);
    const upstreamBase = upstream.url.replace(/\/$/, "");
    // No database: the proxied path never touches it (the bench shows that by not needing one).
    const gateway = await startTessera("gateway", {
      outDir: join(tmp, "dist"),
      persistDir: join(tmp, "state"),
      vars: {
        GATEWAY_ROUTES: JSON.stringify({ "/api/assistant": { upstream: upstreamBase, auth: "public" } }),
        RATE_LIMIT_IP_PER_MINUTE: "1000000",
        LOG_LEVEL: "warn",
      },
    });
    targets.push(gateway);
    await expectStatus(upstream, "/echo", 200);
    await expectStatus(gateway, "/api/assistant/echo", 200);

    const base = { connections: settings.connections, durationMs: settings.durationMs, warmupMs: settings.warmupMs };
    const scenarios: Scenario[] = [
      { name: "upstream direct: GET /echo", target: upstream, path: "/echo", ...base },
      {
        name: "via gateway: GET /api/assistant/echo",
        target: gateway,
        path: "/api/assistant/echo",
        ...base,
        baseline: "upstream direct: GET /echo",
      },
    ];
    const results = await runRounds(scenarios, {
      rounds: settings.rounds,
      onRound: (s, round, r) => log(roundLine(s, round, r)),
    });
    printResults(NAME, results);
    const [direct, proxied] = results;
    if (direct && proxied) {
      log(
        `through the gateway: ${(proxied.median.rps / direct.median.rps).toFixed(2)}× the upstream's own throughput ` +
          `(${Math.round(proxied.median.rps)} vs ${Math.round(direct.median.rps)} req/s; the old Go gateway: 1,716 req/s)`,
      );
    }
  } finally {
    await Promise.allSettled(targets.map((t) => t.close()));
    await rm(tmp, { recursive: true, force: true });
    end();
  }
}

main().catch(failBench(NAME));
