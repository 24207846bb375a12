// The whole local suite as supervised child processes: the database bridge, then `wrangler dev`, then the GPU worker.
// Used by `npm run dev` and by the end-to-end tests, so both run exactly the same thing.
import { fileURLToPath } from "node:url";
import { bridgeConnectionString, newBridgeSecret } from "../db-bridge/server";
import { type ManagedProcess, spawnPrefixed, waitForHttp } from "./processes";
import { type Supervised, supervise } from "./supervise";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface DevSuiteOptions {
  port: number;
  bridgePort: number;
  inspectorPort: number;
  /** PGlite data directory (used when databaseUrl is not set). */
  pgliteDir: string;
  /** A real Postgres for the bridge to front instead of PGlite. */
  databaseUrl?: string;
  /** Where wrangler keeps local KV, R2, Durable Object and queue state. */
  persistDir: string;
  /** The bridge's secret (the password in the Worker's DATABASE_URL); default a fresh random one. */
  bridgeSecret?: string;
  /** Extra Worker vars (e.g. GATEWAY_ROUTES) passed with --var. */
  vars?: Record<string, string>;
  write?: (line: string) => void;
  readyTimeoutMs?: number;
  /** Also start a GPU worker (gpu-worker/, CPU mode) against the Worker with this credential and environment. */
  gpuWorker?: GpuWorkerOptions;
}

interface GpuWorkerOptions {
  /** The worker credential; the Worker must accept it (GPU_WORKER_BOOTSTRAP_SECRET). */
  secret: string;
  /** Port for its /health and /metrics. */
  port: number;
  /** Extra environment (GPU_WORKER_MODELS, GPU_WORKER_TYPES, …). */
  env?: Record<string, string>;
}

export interface DevSuite {
  workerUrl: string;
  bridgeUrl: string;
  /** The Worker's DATABASE_URL: the bridge with its secret (never log it). */
  databaseUrl: string;
  /** The GPU worker's health URL, when one was started. */
  gpuWorkerUrl?: string;
  /** Each child under supervision: restarted with backoff when it exits or stops answering (supervise.ts). */
  supervised: Supervised[];
  stop(): Promise<void>;
}

export function bridgeDatabaseUrl(bridgePort: number, secret: string): string {
  return bridgeConnectionString(bridgePort, secret);
}

/** true when `url` answers at all within 5 s (any status): the process is alive and not frozen. */
async function answers(url: string, isHealthy: (res: Response) => boolean = () => true): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    const ok = isHealthy(res);
    await res.body?.cancel();
    return ok;
  } catch {
    return false;
  }
}

export async function startDevSuite(opts: DevSuiteOptions): Promise<DevSuite> {
  const supervised: Supervised[] = [];
  const stop = async () => {
    // Reverse order: the Worker first, so nothing queries a bridge that is going away.
    for (const s of [...supervised].reverse()) await s.stop();
  };
  const timeout = opts.readyTimeoutMs ?? 120_000;
  const log = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const bridgeSecret = opts.bridgeSecret ?? newBridgeSecret();
  const databaseUrl = bridgeDatabaseUrl(opts.bridgePort, bridgeSecret);
  try {
    const bridgeEnv: NodeJS.ProcessEnv = {
      ...process.env,
      DB_BRIDGE_PORT: String(opts.bridgePort),
      PGLITE_DIR: opts.pgliteDir,
      DB_BRIDGE_SECRET: bridgeSecret,
    };
    if (opts.databaseUrl) bridgeEnv.DATABASE_URL = opts.databaseUrl;
    else delete bridgeEnv.DATABASE_URL;
    const bridgeUrl = `http://127.0.0.1:${opts.bridgePort}`;
    supervised.push(
      await supervise({
        name: "db",
        start: () =>
          spawnPrefixed({
            name: "db",
            command: process.execPath,
            args: ["--import", "tsx", "dev/db-bridge.ts"],
            cwd: ROOT,
            env: bridgeEnv,
            write: opts.write,
          }),
        ready: (proc) => waitForHttp(`${bridgeUrl}/health`, proc, timeout),
        probe: () => answers(`${bridgeUrl}/health`),
        log,
      }),
    );

    const vars = { DATABASE_URL: databaseUrl, ...opts.vars };
    const workerUrl = `http://127.0.0.1:${opts.port}`;
    supervised.push(
      await supervise({
        name: "worker",
        start: () =>
          spawnPrefixed({
            name: "worker",
            command: process.execPath,
            args: [
              "node_modules/wrangler/bin/wrangler.js",
              "dev",
              "--ip",
              "127.0.0.1",
              "--port",
              String(opts.port),
              "--inspector-port",
              String(opts.inspectorPort),
              "--show-interactive-dev-session=false",
              // Lets the runner fire the cron once at start (/cdn-cgi/handler/scheduled).
              "--test-scheduled",
              "--persist-to",
              opts.persistDir,
              ...Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
            ],
            cwd: ROOT,
            env: {
              ...process.env,
              // Without this wrangler fetches Request.cf from the internet at start, and no network is needed after install.
              CLOUDFLARE_CF_FETCH_ENABLED: "false",
              WRANGLER_SEND_METRICS: "false",
              // The Worker reaches the database only through the bridge URL above.
              DATABASE_URL: "",
            },
            write: opts.write,
          }),
        ready: async (proc) => {
          await waitForHttp(`${workerUrl}/`, proc, timeout);
          // Run the cron once now, so the gateway knows its upstreams' health before the first request.
          await fetch(`${workerUrl}/cdn-cgi/handler/scheduled`).then((res) => res.body?.cancel());
        },
        // GET / is the Worker's own JSON and touches no database: a plain-text 503 means wrangler's workerd
        // crashed under it, no answer means it is frozen.
        probe: () =>
          answers(`${workerUrl}/`, (res) => res.ok && (res.headers.get("content-type") ?? "").includes("json")),
        log,
      }),
    );
    let gpuWorkerUrl: string | undefined;
    if (opts.gpuWorker) {
      const gpuOpts = opts.gpuWorker;
      gpuWorkerUrl = `http://127.0.0.1:${gpuOpts.port}`;
      const healthUrl = `${gpuWorkerUrl}/health`;
      supervised.push(
        await supervise({
          name: "gpu",
          start: () => startGpuWorker({ ...gpuOpts, edgeUrl: workerUrl, write: opts.write }),
          ready: (proc) => waitForHttp(healthUrl, proc, timeout),
          probe: () => answers(healthUrl),
          log,
        }),
      );
    }
    return { workerUrl, bridgeUrl, databaseUrl, gpuWorkerUrl, supervised, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `npm run gpu-worker` as a child: CPU mode unless the environment says otherwise. */
export function startGpuWorker(
  opts: GpuWorkerOptions & { edgeUrl: string; name?: string; write?: (line: string) => void },
): ManagedProcess {
  return spawnPrefixed({
    name: opts.name ?? "gpu",
    command: process.execPath,
    args: ["--import", "tsx", "gpu-worker/main.ts"],
    cwd: ROOT,
    env: {
      ...process.env,
      TESSERA_URL: opts.edgeUrl,
      GPU_WORKER_SECRET: opts.secret,
      GPU_WORKER_DEVICE: process.env.GPU_WORKER_DEVICE ?? "cpu",
      GPU_WORKER_PORT: String(opts.port),
      ...opts.env,
    },
    write: opts.write,
  });
}
