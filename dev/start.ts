// `npm run start`: the production runtime on this machine. Builds the bundle that `wrangler deploy` would
// upload, serves it with Miniflare's API on workerd (no dev proxy, no inspector, no per-request log
// forwarding) with every binding from wrangler.toml, state under .data/miniflare, and the database bridge
// beside it in this process. `startProduction` is the same runtime for benches and tests. `npm run start` runs this
// file through dev/start-host.mjs (bundled, no TypeScript loader in the process); `tsx dev/start.ts` runs it too.
//
// Environment (CLI): PORT (8787), DB_BRIDGE_PORT (5480), DATABASE_URL (a Postgres server for the bridge;
// unset: PGlite), PGLITE_DIR (.data/pglite), TESSERA_DATABASE_URL (a bridge URL that is already running:
// no bridge is started), MINIFLARE_DIR (.data/miniflare), WORKERD_V8_FLAGS, PGLITE_OPTIMIZE_WASM (docs/operations.md
// "Memory").
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import type { Miniflare } from "miniflare";
import { maskSecret, startBridge } from "./db-bridge/server";
import type { RuntimeLogs } from "./lib/miniflare-options";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

export interface StartProductionOptions {
  /** Port for the Worker on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** The Worker's DATABASE_URL binding (the bridge's URL). Unset: whatever .dev.vars says, if anything. */
  databaseUrl?: string;
  /** Local state root (kv, r2, do, cache); default .data/miniflare. */
  persistDir?: string;
  /** Overrides for wrangler.toml's [vars]. */
  vars?: Record<string, string>;
  /** Build the bundle first (default true); false serves what is already in outDir. */
  build?: boolean;
  /** Where the bundle is built and read; default dist. */
  outDir?: string;
  configPath?: string;
  /** workerd's stdout/stderr (the Worker's console): "inherit" (default), "ignore", or a line callback. */
  logs?: RuntimeLogs;
  /** workerd's DevTools inspector on this loopback port (for CPU profiles; bench/profile.ts). */
  inspectorPort?: number;
  /** V8 flags for workerd (dev/lib/workerd-v8-flags.ts); default `WORKERD_V8_FLAGS`, else DEFAULT_WORKERD_V8_FLAGS. */
  v8Flags?: readonly string[];
}

export interface ProductionServer {
  /** The Worker's URL, ending in "/". */
  url: string;
  port: number;
  /** The Miniflare instance, for direct binding access (getKVNamespace, getR2Bucket, …) in tests. */
  miniflare: Miniflare;
  timings: { buildMs: number; runtimeMs: number };
  close(): Promise<void>;
}

const BUILD_ENV = { CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

/** `wrangler deploy --dry-run --outdir <outDir>`: the exact bundle that would be uploaded. Works offline. */
async function buildBundle(opts: { outDir?: string; configPath?: string } = {}): Promise<{
  scriptPath: string;
  ms: number;
  summary: string;
}> {
  const outDir = resolve(ROOT, opts.outDir ?? "dist");
  const started = performance.now();
  const wrangler = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  const args = [
    wrangler,
    "deploy",
    "--dry-run",
    "--outdir",
    outDir,
    "--config",
    resolve(ROOT, opts.configPath ?? "wrangler.toml"),
  ];
  const output = await new Promise<string>((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...BUILD_ENV, FORCE_COLOR: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolvePromise(text);
      else reject(new Error(`wrangler deploy --dry-run failed (exit ${code}):\n${text}`));
    });
  });
  const summary = output.match(/Total Upload:[^\n]*/)?.[0] ?? "";
  return { scriptPath: bundlePath(outDir), ms: performance.now() - started, summary };
}

function bundlePath(outDir: string): string {
  const script = join(outDir, "index.js");
  if (existsSync(script)) return script;
  const found = existsSync(outDir) ? readdirSync(outDir).filter((f) => f.endsWith(".js")) : [];
  throw new Error(
    found.length
      ? `Expected ${script}; ${outDir} has ${found.join(", ")}`
      : `No bundle at ${script}: run \`npm run build\` or start with build: true`,
  );
}

/** Serves the built Worker on workerd with every wrangler.toml binding; resolves when it answers. */
export async function startProduction(opts: StartProductionOptions = {}): Promise<ProductionServer> {
  const outDir = resolve(ROOT, opts.outDir ?? "dist");
  const configPath = resolve(ROOT, opts.configPath ?? "wrangler.toml");
  let buildMs = 0;
  let scriptPath: string;
  if (opts.build ?? true) {
    const built = await buildBundle({ outDir, configPath });
    buildMs = built.ms;
    scriptPath = built.scriptPath;
  } else {
    scriptPath = bundlePath(outDir);
  }
  const persistDir = resolve(ROOT, opts.persistDir ?? join(".data", "miniflare"));
  await mkdir(persistDir, { recursive: true });

  const started = performance.now();
  // Loaded here, not at the top: wrangler and miniflare take about a second to import, which the CLI
  // spends while its build subprocess runs.
  const [{ Miniflare, Runtime }, { DEFAULT_HOST, productionMiniflareOptions, wranglerWorker }, workerdFlags] =
    await Promise.all([import("miniflare"), import("./lib/miniflare-options"), import("./lib/workerd-v8-flags")]);
  workerdFlags.setWorkerdV8Flags(
    Runtime,
    opts.v8Flags ?? workerdFlags.workerdV8FlagsFromEnv(workerdFlags.DEFAULT_WORKERD_V8_FLAGS),
  );
  const { options, workerName, recent } = productionMiniflareOptions({
    wrangler: await wranglerWorker(configPath),
    scriptPath,
    persistDir,
    host: DEFAULT_HOST,
    port: opts.port ?? 0,
    logs: opts.logs,
    ...(opts.inspectorPort === undefined ? {} : { inspectorPort: opts.inspectorPort }),
    vars: { ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}), ...opts.vars },
  });
  const miniflare = new Miniflare(options);
  let url: URL;
  try {
    await miniflare.ready;
    url = await miniflare.unsafeGetDirectURL(workerName);
  } catch (err) {
    await miniflare.dispose().catch(() => {});
    const output = recent.text();
    if (!output) throw err;
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nworkerd said:\n${output}`, { cause: err });
  }
  const runtimeMs = performance.now() - started;

  let closing: Promise<void> | undefined;
  return {
    url: url.href,
    port: Number(url.port),
    miniflare,
    timings: { buildMs, runtimeMs },
    close: () => {
      closing ??= miniflare.dispose();
      return closing;
    },
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got "${raw}"`);
  return n;
}

export async function main(): Promise<void> {
  const processStart = performance.now() - process.uptime() * 1000;
  const port = intFromEnv("PORT", 8787);
  const bridgePort = intFromEnv("DB_BRIDGE_PORT", 5480);
  const log = (line: string) => process.stdout.write(`${line}\n`);

  let bridge: Awaited<ReturnType<typeof startBridge>> | undefined;
  let server: ProductionServer | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (reason: string, code: number) => {
    if (stopping) {
      // A second Ctrl-C: do not wait any longer.
      process.exit(code);
    }
    log(`tessera: ${reason}, stopping`);
    stopping = (async () => {
      const force = setTimeout(() => {
        log("tessera: shutdown took longer than 10 s, exiting");
        process.exit(code || 1);
      }, 10_000);
      force.unref();
      await server?.close().catch((err) => log(`tessera: runtime: ${String(err)}`));
      await bridge?.close().catch((err) => log(`tessera: database bridge: ${String(err)}`));
      clearTimeout(force);
      process.exit(code);
    })();
  };
  const onSigint = () => stop("SIGINT", 0);
  const onSigterm = () => stop("SIGTERM", 0);
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);

  try {
    // The build (a wrangler subprocess) and the bridge (PGlite starting in this process) run side by side.
    const external = process.env.TESSERA_DATABASE_URL;
    if (!external && !process.env.DATABASE_URL && process.env.PGLITE_OPTIMIZE_WASM !== "1") {
      // PGlite's Postgres is WebAssembly; V8 compiles it with its baseline compiler, then recompiles hot functions with
      // its optimizing one on background threads, and the optimized code and the compilers' memory stay. Baseline
      // only: about 50 MB less, a one-row query about 8% slower, a large sort or aggregate up to 1.8× slower
      // (docs/operations.md "Memory"). Set before PGlite compiles its module, and only when this process runs PGlite.
      setFlagsFromString("--liftoff-only");
    }
    const bridgeStarted = performance.now();
    // allSettled: when one fails, the other still finishes, so the bridge is never left half-open.
    // The runtime's modules load meanwhile too (startProduction below then finds them cached).
    const [builtResult, modulesResult, bridgeResult] = await Promise.allSettled([
      buildBundle(),
      // wrangler.toml is read by wrangler in a child process meanwhile (dev/lib/wrangler-worker.ts).
      import("miniflare").then(() => import("./lib/miniflare-options")).then(({ wranglerWorker }) => wranglerWorker()),
      (async () => {
        if (external) return 0;
        bridge = await startBridge({
          port: bridgePort,
          databaseUrl: process.env.DATABASE_URL || undefined,
          dataDir: process.env.PGLITE_DIR || join(ROOT, ".data", "pglite"),
          log: (line) => log(`[db-bridge] ${line}`),
        });
        return performance.now() - bridgeStarted;
      })(),
    ]);
    if (builtResult.status === "rejected") throw builtResult.reason;
    if (modulesResult.status === "rejected") throw modulesResult.reason;
    if (bridgeResult.status === "rejected") throw bridgeResult.reason;
    const built = builtResult.value;
    const bridgeMs = bridgeResult.value;
    const databaseUrl = external || bridge?.url;
    const persistDir = process.env.MINIFLARE_DIR || join(ROOT, ".data", "miniflare");
    server = await startProduction({ port, build: false, databaseUrl, persistDir, logs: "inherit" });
    // Miniflare installs SIGINT/SIGTERM handlers that exit at once; ours close the bridge first.
    for (const [signal, ours] of [
      ["SIGINT", onSigint],
      ["SIGTERM", onSigterm],
    ] as const) {
      for (const listener of process.listeners(signal)) if (listener !== ours) process.removeListener(signal, listener);
    }
    const total = performance.now() - processStart;
    const dbLine = external
      ? `database ${external} (TESSERA_DATABASE_URL, not started here)`
      : `database bridge ${maskSecret(bridge?.url ?? "")} (${bridge?.backend})`;
    log(`tessera: built ${built.summary || built.scriptPath} in ${seconds(built.ms)}`);
    log(`tessera: ${dbLine}${external ? "" : ` ready in ${seconds(bridgeMs)}`}`);
    log(`tessera: workerd ready in ${seconds(server.timings.runtimeMs)}; state in ${persistDir}`);
    log(`tessera ready on ${server.url.replace(/\/$/, "")} (cold start ${seconds(total)}; Ctrl-C stops)`);
    // Starting leaves garbage this process would otherwise hold until later load made V8 collect it: the build's and
    // wrangler's parse, and after a first start PGlite's initdb (docs/operations.md "Memory"). `npm run start` runs
    // Node with --expose-gc for this one collection.
    (globalThis as { gc?: () => void }).gc?.();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log(`tessera: failed to start: ${err instanceof Error ? (err.stack ?? message) : message}`);
    if (message.includes("Address already in use")) log("tessera: set PORT (or DB_BRIDGE_PORT) to a free port");
    await server?.close().catch(() => {});
    await bridge?.close().catch(() => {});
    process.exit(1);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void main();
}
