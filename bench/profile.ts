// `npm run bench:profile`: where workerd's CPU goes per route. Tessera on the production runtime (dev/start.ts)
// with its inspector on, LOG_LEVEL=info (production's setting), limits raised so the bench measures the work;
// for each path, closed-loop load (bench/lib/load.ts) while V8's sampling profiler runs, then the functions
// with the most self time. The inspector costs some CPU itself: read shares, not absolute figures.
// Knobs: BENCH_PROFILE_PATHS (comma-separated; default "/,/health,/api/auth/verify,/v1/memory/bench/hot";
// "/api/assistant/echo" is the gateway proxy to a trivial upstream, bench/lib/upstream.ts; "POST
// /v1/chat/completions" and "STREAM /v1/chat/completions" profile the LLM router in front of a local OpenAI-protocol
// upstream, tests/support/openai-upstream.ts), BENCH_DURATION_MS, BENCH_WARMUP_MS, BENCH_CONNECTIONS,
// BENCH_PROFILE_TOP (25).
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridge } from "../dev/db-bridge/server";
import { generateKeyPairSecrets } from "../src/lib/identity/keys";
import { startOpenAiUpstream } from "../tests/support/openai-upstream";
import {
  beginBench,
  envInt,
  expectStatus,
  failBench,
  log,
  registerBenchUser,
  settings,
  UNLIMITED_VARS,
} from "./lib/common";
import { startCpuProfile, summarizeProfile } from "./lib/cpu-profile";
import { startTessera } from "./lib/harness";
import { runLoad } from "./lib/load";
import { startUpstream } from "./lib/upstream";

const NAME = "bench:profile";
const TOP = envInt("BENCH_PROFILE_TOP", 25, 1, 200);
const PATHS = (process.env.BENCH_PROFILE_PATHS ?? "/,/health,/api/auth/verify,/v1/memory/bench/hot")
  .split(",")
  .map((p) => p.trim())
  .filter(Boolean);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function main(): Promise<void> {
  const end = beginBench(NAME, 600_000);
  const tmp = await mkdtemp(join(tmpdir(), "tessera-bench-profile-"));
  const bridge = await startBridge({ port: 0, dataDir: join(tmp, "pglite") });
  const inspectorPort = await freePort();
  const upstream = await startOpenAiUpstream();
  // The gateway proxy's trivial upstream, as bench:http's (GET /api/assistant/echo).
  const plain = await startUpstream();
  const llmRoutes = {
    providers: { up: { type: "openai-compatible", baseUrl: upstream.url, allowPrivate: true } },
    aliases: {
      chat: { targets: [{ provider: "up", model: "echo" }] },
      long: { targets: [{ provider: "up", model: "words-500" }] },
    },
  };
  const tessera = await startTessera("tessera", {
    databaseUrl: bridge.url,
    outDir: join(tmp, "dist"),
    persistDir: join(tmp, "state"),
    inspectorPort,
    vars: {
      ...(await generateKeyPairSecrets("ES256")),
      ...UNLIMITED_VARS,
      LOG_LEVEL: "info",
      LLM_ROUTES: JSON.stringify(llmRoutes),
      GATEWAY_ROUTES: JSON.stringify({
        "/api/assistant": { upstream: plain.url.replace(/\/$/, ""), auth: "public" },
      }),
    },
  });
  try {
    const { accessToken } = await registerBenchUser(tessera, "profiler");
    const auth = { authorization: `Bearer ${accessToken}` };
    await fetch(new URL("/v1/memory/bench/hot", tessera.url), {
      method: "PUT",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ data: "v".repeat(1000) }),
    });
    for (const entry of PATHS) {
      const [method, path] = entry.includes(" ") ? (entry.split(/\s+/, 2) as [string, string]) : ["GET", entry];
      const post = method !== "GET";
      const request = post
        ? {
            method: "POST" as const,
            headers: { ...auth, "content-type": "application/json" },
            body: JSON.stringify({
              model: method === "STREAM" ? "long" : "chat",
              messages: [{ role: "user", content: "hello profile" }],
              ...(method === "STREAM" ? { stream: true } : {}),
            }),
          }
        : { headers: auth };
      await expectStatus(tessera, path, 200, request);
      const url = new URL(path, tessera.url).href;
      // The router's calls wait on an upstream: fewer connections keep the loop from queueing behind it.
      const connections = post ? Math.min(8, settings.connections) : settings.connections;
      await runLoad({ url, connections, durationMs: settings.warmupMs || 500, ...request });
      const profiler = await startCpuProfile(inspectorPort, "tessera");
      const load = await runLoad({ url, connections, durationMs: settings.durationMs, ...request });
      const profile = await profiler.stop();
      const { samples, entries } = summarizeProfile(profile, TOP);
      log();
      log(`${method} ${path}: ${Math.round(load.rps)} req/s under the profiler, ${samples} samples`);
      log("| self % | total % | function |");
      log("| -----: | ------: | -------- |");
      for (const e of entries) log(`| ${e.selfPct.toFixed(1)} | ${e.totalPct.toFixed(1)} | ${e.label} |`);
    }
  } finally {
    await tessera.close();
    await upstream.close();
    await plain.close();
    await bridge.close();
    await rm(tmp, { recursive: true, force: true });
    end();
  }
}

main().catch(failBench(NAME));
