// `npm run bench:auth`: token verification (GET /api/auth/verify: signature check only), GET /v1/auth/me
// (signature check + a session lookup in Postgres), and logins per second (PBKDF2 at 100,000 iterations),
// each beside GET /health measured in the same run, on the production runtime (dev/start.ts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridge } from "../dev/db-bridge/server";
import { generateKeyPairSecrets } from "../src/lib/keys";
import { beginBench, expectStatus, failBench, log, printResults, settings } from "./lib/common";
import { roundLine, runRounds, type Scenario, startTessera, type Target } from "./lib/harness";

const NAME = "bench:auth";
// Limits stay in force but high: the bench measures the work, not the 429s (AUTH_RATE_LIMIT_SCALE is for load tests).
const UNLIMITED = {
  RATE_LIMIT_USER_PER_MINUTE: "1000000",
  RATE_LIMIT_IP_PER_MINUTE: "1000000",
  AUTH_RATE_LIMIT_SCALE: "100000000",
  LOG_LEVEL: "warn",
};

async function main(): Promise<void> {
  const end = beginBench(NAME, 300_000);
  const tmp = await mkdtemp(join(tmpdir(), "tessera-bench-auth-"));
  const bridge = await startBridge({ port: 0, dataDir: join(tmp, "pglite") });
  let tessera: Target | undefined;
  try {
    tessera = await startTessera("tessera", {
      databaseUrl: bridge.url,
      outDir: join(tmp, "dist"),
      persistDir: join(tmp, "state"),
      vars: { ...(await generateKeyPairSecrets("ES256")), ...UNLIMITED },
    });
    const credentials = { username: "benchuser", email: "bench@example.com", password: "bench password 1" };
    const reg = await fetch(new URL("/v1/auth/register", tessera.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(credentials),
    });
    const { accessToken } = (await reg.json()) as { accessToken: string };
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
          body: JSON.stringify({ username: credentials.username, password: credentials.password }),
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
    await tessera?.close();
    await bridge.close();
    await rm(tmp, { recursive: true, force: true });
    end();
  }
}

main().catch(failBench(NAME));
