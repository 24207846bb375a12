// Miniflare options for serving a built Worker the way production serves it: workerd with the bundle that
// `wrangler deploy` would upload, reached through a socket that goes straight to the Worker (no dev proxy,
// no Miniflare entry worker in the path: that one gzips, injects `cf` and logs), no inspector and no
// per-request log forwarding. Bindings come from wrangler.toml through wrangler's own translation.
import { dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import type { MiniflareOptions, WorkerOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

/** What workerd writes (the Worker's console output): printed, dropped, or handed over line by line. */
export type RuntimeLogs = "inherit" | "ignore" | ((line: string) => void);

interface ServeOptions {
  /** Where the Worker answers. Port 0 picks a free one. */
  host?: string;
  port?: number;
  logs?: RuntimeLogs;
}

interface ProductionOptions extends ServeOptions {
  /** wrangler.toml (or .jsonc) path. */
  configPath?: string;
  /** The built ES module bundle (`wrangler deploy --dry-run --outdir dist` writes dist/index.js). */
  scriptPath: string;
  /** Root of local state: kv/, r2/, do/, cache/ (and the other plugins' folders) go under it. */
  persistDir: string;
  /** Added to (and overriding) wrangler.toml's [vars] and .dev.vars. */
  vars?: Record<string, string>;
}

export const DEFAULT_HOST = "127.0.0.1";

/** The last lines workerd wrote, kept whatever `logs` says, so a failed start can say why. */
class RecentOutput {
  private lines: string[] = [];
  constructor(private readonly max = 40) {}
  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  text(): string {
    return this.lines.join("\n");
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
        if (logs === "inherit") sink.write(chunk);
        const lines = (rest + chunk).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) {
          if (!line) continue;
          recent.add(line);
          if (typeof logs === "function") logs(line);
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
  const config = unstable_readConfig({ config: opts.configPath ?? "wrangler.toml" });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  const workerName = config.name ?? "worker";
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
  } as MiniflareOptions;
  return { options, workerName, recent };
}

/**
 * The runtime's floor: a module Worker served exactly like the production one (same compatibility date
 * and flags, direct socket, no log forwarding) but with no bindings and nothing persisted.
 */
export function bareMiniflareOptions(
  script: string,
  opts: ServeOptions & { configPath?: string; workerName?: string } = {},
): { options: MiniflareOptions; workerName: string; recent: RecentOutput } {
  const config = unstable_readConfig({ config: opts.configPath ?? "wrangler.toml" });
  const workerName = opts.workerName ?? "floor";
  const worker = {
    name: workerName,
    modules: true,
    script,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    unsafeDirectSockets: directSocket(opts),
  } as WorkerOptions;
  const recent = new RecentOutput();
  const options = { ...sharedOptions(opts.logs ?? "ignore", recent), workers: [worker] } as MiniflareOptions;
  return { options, workerName, recent };
}
