// `npm run bench:rss`: the resident memory of the whole `npm run start` process tree (npm, the Node host with
// Miniflare and the database bridge, workerd), idle and after BENCH_RSS_REQUESTS (100,000) requests, with PGlite
// and, when DATABASE_URL names a server, with that Postgres. The load is a mix of GET /health (the database, KV, R2,
// a Durable Object and the queue every HEALTH_CACHE_SECONDS) and GET / with 64 connections.
// Knobs: BENCH_RSS_REQUESTS, BENCH_CONNECTIONS, BENCH_RSS_DATABASES ("pglite,postgres": which to measure),
// BENCH_RSS_ROOT (another checkout whose `npm run start` is measured instead, for before/after figures); what the
// figures mean: docs/benchmarks.md ("Memory").
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "../dev/lib/suite";
import { beginBench, envInt, failBench, log, settings } from "./lib/common";
import { runLoad } from "./lib/load";
import { descendantPids, readStat, rssMiB } from "./lib/proc";

const NAME = "bench:rss";
const REQUESTS = envInt("BENCH_RSS_REQUESTS", 100_000, 100, 10_000_000);

function tree(root: number): Record<string, number> {
  const byName: Record<string, number> = {};
  for (const pid of [root, ...descendantPids(undefined, root)]) {
    const name = readStat(pid)?.comm ?? "?";
    byName[name] = (byName[name] ?? 0) + rssMiB([pid]);
  }
  return byName;
}

const total = (t: Record<string, number>) => Object.values(t).reduce((a, b) => a + b, 0);
const show = (t: Record<string, number>) =>
  `${Math.round(total(t))} MiB (${Object.entries(t)
    .map(([k, v]) => `${k} ${Math.round(v)}`)
    .join(", ")})`;

async function measure(label: string, env: Record<string, string>): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), "tessera-bench-rss-"));
  const child = spawn("npm", ["run", "start"], {
    cwd: process.env.BENCH_RSS_ROOT || ROOT,
    env: {
      ...process.env,
      PORT: "0",
      DB_BRIDGE_PORT: "0",
      PGLITE_DIR: join(tmp, "pglite"),
      MINIFLARE_DIR: join(tmp, "miniflare"),
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        const ready = /tessera ready on (\S+)/.exec(line);
        if (ready?.[1]) resolve(ready[1]);
      });
      child.once("exit", (code) => reject(new Error(`npm run start exited (${code})`)));
    });
    // Drain the access log (the Node host writes it to this pipe).
    child.stdout.resume();
    const pid = child.pid as number;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idle = tree(pid);
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, total(tree(pid)));
    }, 1000);
    const started = performance.now();
    for (const path of ["/health", "/"]) {
      await runLoad({
        url: `${url}${path}`,
        connections: settings.connections,
        requests: REQUESTS / 2,
        timeoutMs: 30_000,
      });
    }
    clearInterval(sampler);
    const after = tree(pid);
    log(
      `${label}: idle ${show(idle)}; after ${REQUESTS} requests (${((performance.now() - started) / 1000).toFixed(0)} s) ` +
        `${show(after)}; peak tree ${Math.round(Math.max(peak, total(after)))} MiB`,
    );
  } finally {
    if (child.pid) process.kill(-child.pid, "SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    await rm(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const end = beginBench(NAME, 1_800_000);
  const databases = (process.env.BENCH_RSS_DATABASES || "pglite,postgres").split(",");
  if (databases.includes("pglite")) await measure("PGlite", { DATABASE_URL: "" });
  if (process.env.DATABASE_URL && databases.includes("postgres"))
    await measure("external Postgres", { DATABASE_URL: process.env.DATABASE_URL });
  end();
}

main().catch(failBench(NAME));
