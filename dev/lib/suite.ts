// The whole local suite as child processes: the database bridge, then `wrangler dev`.
// Used by `npm run dev` and by the end-to-end tests, so both run exactly the same thing.
import { fileURLToPath } from "node:url";
import { type ManagedProcess, spawnPrefixed, waitForHttp } from "./processes";

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
  /** The GPU worker's health URL, when one was started. */
  gpuWorkerUrl?: string;
  processes: ManagedProcess[];
  /** Resolves when any child exits on its own. */
  firstExit: Promise<{ name: string; code: number | string }>;
  stop(): Promise<void>;
}

export function bridgeDatabaseUrl(bridgePort: number): string {
  return `postgres://tessera@127.0.0.1:${bridgePort}/tessera`;
}

export async function startDevSuite(opts: DevSuiteOptions): Promise<DevSuite> {
  const processes: ManagedProcess[] = [];
  const stop = async () => {
    // Reverse order: the Worker first, so nothing queries a bridge that is going away.
    for (const proc of [...processes].reverse()) await proc.stop();
  };
  const timeout = opts.readyTimeoutMs ?? 120_000;
  try {
    const bridgeEnv: NodeJS.ProcessEnv = {
      ...process.env,
      DB_BRIDGE_PORT: String(opts.bridgePort),
      PGLITE_DIR: opts.pgliteDir,
    };
    if (opts.databaseUrl) bridgeEnv.DATABASE_URL = opts.databaseUrl;
    else delete bridgeEnv.DATABASE_URL;
    const bridge = spawnPrefixed({
      name: "db",
      command: process.execPath,
      args: ["--import", "tsx", "dev/db-bridge.ts"],
      cwd: ROOT,
      env: bridgeEnv,
      write: opts.write,
    });
    processes.push(bridge);
    const bridgeUrl = `http://127.0.0.1:${opts.bridgePort}`;
    await waitForHttp(`${bridgeUrl}/health`, bridge, timeout);

    const vars = { DATABASE_URL: bridgeDatabaseUrl(opts.bridgePort), ...opts.vars };
    const worker = spawnPrefixed({
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
    });
    processes.push(worker);
    const workerUrl = `http://127.0.0.1:${opts.port}`;
    await waitForHttp(`${workerUrl}/`, worker, timeout);
    // Run the cron once now, so the gateway knows its upstreams' health before the first request.
    await fetch(`${workerUrl}/cdn-cgi/handler/scheduled`).then((res) => res.body?.cancel());
    let gpuWorkerUrl: string | undefined;
    if (opts.gpuWorker) {
      const gpu = startGpuWorker({ ...opts.gpuWorker, edgeUrl: workerUrl, write: opts.write });
      processes.push(gpu);
      gpuWorkerUrl = `http://127.0.0.1:${opts.gpuWorker.port}`;
      await waitForHttp(`${gpuWorkerUrl}/health`, gpu, timeout);
    }
    const firstExit = Promise.race(processes.map((p) => p.exited.then((code) => ({ name: p.name, code }))));
    return { workerUrl, bridgeUrl, gpuWorkerUrl, processes, firstExit, stop };
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
