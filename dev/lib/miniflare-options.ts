// Miniflare options for serving a built Worker the way production serves it: workerd with the bundle that
// `wrangler deploy` would upload, reached through a socket that goes straight to the Worker (no dev proxy,
// no Miniflare entry worker in the path: that one gzips, injects `cf` and logs), no inspector and no
// per-request log forwarding. Bindings come from wrangler.toml through wrangler's own translation.
import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { MiniflareOptions, WorkerOptions } from "miniflare";
import type { WranglerWorker } from "./wrangler-worker";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER_WORKER = fileURLToPath(new URL("./wrangler-worker.ts", import.meta.url));
const readings = new Map<string, Promise<WranglerWorker>>();

/**
 * wrangler.toml as wrangler translates it for Miniflare, read in a child Node process (dev/lib/wrangler-worker.ts) so
 * that this process never loads wrangler (about 150 MB it would keep). Once per config file and process; call it
 * early to read it while something else runs.
 */
export function wranglerWorker(configPath = "wrangler.toml"): Promise<WranglerWorker> {
  const path = resolve(REPO_ROOT, configPath);
  let reading = readings.get(path);
  if (!reading) {
    reading = new Promise<WranglerWorker>((resolvePromise, reject) => {
      execFile(
        process.execPath,
        ["--import", "tsx", WRANGLER_WORKER, path],
        { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
        (error, stdout, stderr) => {
          if (error) return reject(new Error(`reading ${configPath} failed: ${stderr || error.message}`));
          try {
            resolvePromise(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as WranglerWorker);
          } catch (err) {
            reject(new Error(`reading ${configPath}: no JSON from wrangler (${String(err)})`));
          }
        },
      );
    });
    readings.set(path, reading);
  }
  return reading;
}

/** What workerd writes (the Worker's console output): printed, dropped, or handed over line by line. */
export type RuntimeLogs = "inherit" | "ignore" | ((line: string) => void);

interface ServeOptions {
  /** Where the Worker answers. Port 0 picks a free one. */
  host?: string;
  port?: number;
  logs?: RuntimeLogs;
}

interface ProductionOptions extends ServeOptions {
  /** wrangler.toml as wrangler reads it (wranglerWorker()). */
  wrangler: WranglerWorker;
  /** The built ES module bundle (`wrangler deploy --dry-run --outdir dist` writes dist/index.js). */
  scriptPath: string;
  /** Root of local state: kv/, r2/, do/, cache/ (and the other plugins' folders) go under it. */
  persistDir: string;
  /** Added to (and overriding) wrangler.toml's [vars] and .dev.vars. */
  vars?: Record<string, string>;
  /** workerd's DevTools inspector on this loopback port (profiling, bench/profile.ts); unset: no inspector. */
  inspectorPort?: number;
}

export const DEFAULT_HOST = "127.0.0.1";

/**
 * The last lines workerd wrote, kept whatever `logs` says, so a failed start can say why. It keeps the text's tail
 * and splits it into lines only when asked: splitting every chunk cost the Node host CPU on each request's log line.
 */
class RecentOutput {
  private tail = "";
  constructor(
    private readonly max = 40,
    private readonly maxChars = 16 * 1024,
  ) {}
  add(text: string): void {
    this.tail += text;
    if (this.tail.length > 2 * this.maxChars) this.tail = this.tail.slice(-this.maxChars);
  }
  text(): string {
    return this.tail.slice(-this.maxChars).split("\n").filter(Boolean).slice(-this.max).join("\n");
  }
}

/** Drains workerd's stdout/stderr; a pipe nobody reads would block the runtime once it fills. */
function runtimeStdio(logs: RuntimeLogs, recent: RecentOutput): (stdout: Readable, stderr: Readable) => void {
  return (stdout, stderr) => {
    for (const [stream, sink] of [
      [stdout, process.stdout],
      [stderr, process.stderr],
    ] as const) {
      let rest = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        recent.add(chunk);
        if (logs === "inherit") sink.write(chunk);
        else if (typeof logs === "function") {
          const lines = (rest + chunk).split("\n");
          rest = lines.pop() ?? "";
          for (const line of lines) if (line) logs(line);
        }
      });
    }
  };
}

/**
 * Options shared by every production-like instance. Miniflare's own entry socket is kept on a random
 * loopback port (Miniflare needs it for its API), while the Worker is served on a direct socket.
 */
function sharedOptions(logs: RuntimeLogs, recent: RecentOutput): Partial<MiniflareOptions> {
  return {
    host: DEFAULT_HOST,
    port: 0,
    // No "GET / 200 OK" line sent to Node for every request (that, pretty error pages and gzip live in the
    // entry worker, which the direct socket bypasses anyway), no live reload.
    logRequests: false,
    liveReload: false,
    handleRuntimeStdio: runtimeStdio(logs, recent),
  };
}

function directSocket(opts: ServeOptions): NonNullable<WorkerOptions["unsafeDirectSockets"]> {
  return [{ host: opts.host ?? DEFAULT_HOST, port: opts.port ?? 0 }];
}

/**
 * Everything wrangler.toml declares (vars, KV, R2, SQLite-backed Durable Objects, queue producers and
 * consumers with their dead-letter queue), as wrangler itself translates it for Miniflare, with the
 * script replaced by the built bundle and every store persisted under `persistDir`.
 */
export function productionMiniflareOptions(opts: ProductionOptions): {
  options: MiniflareOptions;
  workerName: string;
  recent: RecentOutput;
} {
  const workerOptions = opts.wrangler.workerOptions as WorkerOptions;
  const workerName = opts.wrangler.name;
  const root = resolve(opts.persistDir);
  const worker = {
    ...workerOptions,
    name: workerName,
    modules: true,
    scriptPath: resolve(opts.scriptPath),
    // Module names are paths relative to this root; a bundle outside the cwd would otherwise start with "..".
    modulesRoot: dirname(resolve(opts.scriptPath)),
    bindings: { ...workerOptions.bindings, ...opts.vars },
    unsafeDirectSockets: directSocket(opts),
  } as WorkerOptions;
  const recent = new RecentOutput();
  const options = {
    ...sharedOptions(opts.logs ?? "inherit", recent),
    defaultPersistRoot: root,
    kvPersist: join(root, "kv"),
    r2Persist: join(root, "r2"),
    durableObjectsPersist: join(root, "do"),
    cachePersist: join(root, "cache"),
    workers: [worker],
    ...(opts.inspectorPort === undefined ? {} : { inspectorPort: opts.inspectorPort }),
  } as MiniflareOptions;
  return { options, workerName, recent };
}

/**
 * The runtime's floor: a module Worker served exactly like the production one (same compatibility date
 * and flags, direct socket, no log forwarding) but with no bindings and nothing persisted.
 */
export function bareMiniflareOptions(
  script: string,
  opts: ServeOptions & {
    /** wrangler.toml as wrangler reads it (wranglerWorker()): only its compatibility date and flags are used. */
    wrangler: WranglerWorker;
    workerName?: string;
    /** Plain-text bindings (e.g. a public key for the ES256 floor). */
    bindings?: Record<string, string>;
    /** KV namespace bindings, in memory (the KV floor). */
    kvNamespaces?: string[];
  },
): { options: MiniflareOptions; workerName: string; recent: RecentOutput } {
  const workerName = opts.workerName ?? "floor";
  const worker = {
    name: workerName,
    modules: true,
    script,
    compatibilityDate: opts.wrangler.compatibilityDate,
    compatibilityFlags: opts.wrangler.compatibilityFlags,
    unsafeDirectSockets: directSocket(opts),
    ...(opts.bindings ? { bindings: opts.bindings } : {}),
    ...(opts.kvNamespaces ? { kvNamespaces: opts.kvNamespaces } : {}),
  } as WorkerOptions;
  const recent = new RecentOutput();
  const options = { ...sharedOptions(opts.logs ?? "ignore", recent), workers: [worker] } as MiniflareOptions;
  return { options, workerName, recent };
}
