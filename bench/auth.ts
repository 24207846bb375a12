import {
  BENCH_PASSWORD,
  beginBench,
  expectStatus,
  failBench,
  log,
  printResults,
  registerBenchUser,
  settings,
  startBenchTessera,
} from "./lib/common";
import { roundLine, runRounds, type Scenario } from "./lib/harness";

const NAME = "bench:auth";
async function main(): Promise<void> {
  const end = beginBench(NAME, 300_000);
  const { tessera, close } = await startBenchTessera("tessera-bench-auth");
  try {
    const { accessToken } = await registerBenchUser(tessera, "benchuser");
    const auth = { authorization: `Bearer ${accessToken}` };
    await expectStatus(tessera, "/api/auth/verify", 200, { headers: auth });
    await expectStatus(tessera, "/v1/auth/me", 200, { headers: auth });

    const base = { connections: settings.connections, durationMs: settings.durationMs, warmupMs: settings.warmupMs };
    const scenarios: Scenario[] = [
      { name: "GET /health (cached)", target: tessera, path: "/health", ...base },
      {
        name: "GET /api/auth/verify",
        target: tessera,
        path: "/api/auth/verify",
        ...base,
        load: { headers: auth },
        baseline: "GET /health (cached)",
      },
      {
        name: "GET /v1/auth/me",
        target: tessera,
        path: "/v1/auth/me",
        ...base,
        load: { headers: auth },
        baseline: "GET /health (cached)",
      },
      {
        // CPU-bound by design (PBKDF2): a few connections are enough to fill the cores.
        name: "POST /v1/auth/login",
        target: tessera,
        path: "/v1/auth/login",
        connections: 4,
        durationMs: settings.durationMs,
        warmupMs: settings.warmupMs,
        load: {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "benchuser", password: BENCH_PASSWORD }),
        },
        baseline: "GET /health (cached)",
      },
    ];
    const results = await runRounds(scenarios, {
      rounds: settings.rounds,
      onRound: (s, round, r) => log(roundLine(s, round, r)),
    });
    printResults(NAME, results);
  } finally {
    await close();
    end();
  }
}

main().catch(failBench(NAME));
