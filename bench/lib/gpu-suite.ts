// Tessera on the production runtime (`startBenchTessera`) with a real GPU worker on the CPU beside it, running the
// models file the end-to-end tests use (whisper.cpp on the tiny generated model): what bench:gpu-worker and
// bench:fusion measure through. `stop()` ends the worker only; `close()` everything, files included.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForHttp } from "../../dev/lib/processes";
import { startGpuWorker } from "../../dev/lib/suite";
import { randomToken } from "../../src/lib/identity/tokens";
import { WORKER_SECRET_PREFIX } from "../../src/lib/jobs/protocol";
import { writeE2eModelsFile } from "../../tests/e2e/gpu-models";
import { log, startBenchTessera } from "./common";
import type { Target } from "./harness";

export interface BenchGpuSuite {
  tessera: Target;
  /** A scratch folder for the bench's own files, removed by close(). */
  dir: string;
  workerUrl: string;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function startBenchGpuSuite(
  prefix: string,
  vars: Record<string, string>,
  workerEnv: Record<string, string>,
): Promise<BenchGpuSuite> {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  const secret = randomToken(WORKER_SECRET_PREFIX);
  const { tessera, close } = await startBenchTessera(prefix, { ...vars, GPU_WORKER_BOOTSTRAP_SECRET: secret });
  const port = await freePort();
  const worker = startGpuWorker({
    secret,
    edgeUrl: tessera.url.replace(/\/$/, ""),
    port,
    env: { GPU_WORKER_MODELS: await writeE2eModelsFile(dir), LOG_LEVEL: "warn", ...workerEnv },
    write: (line) => {
      if (line.includes('"level":"error"')) log(line);
    },
  });
  const workerUrl = `http://127.0.0.1:${port}`;
  const closeAll = async () => {
    await worker.stop();
    await close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`${workerUrl}/health`, worker, 60_000);
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { tessera, dir, workerUrl, stopWorker: () => worker.stop(), close: closeAll };
}
