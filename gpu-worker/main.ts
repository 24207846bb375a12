// `npm run gpu-worker`: the GPU worker process. Configuration from the environment and the models file
// (docs/gpu-worker.md); SIGTERM or SIGINT drains it (stop leasing, finish within the grace period, hand back the rest).
import { backend } from "./backends";
import { edgeClient } from "./client";
import { ConfigError, jobModels, loadConfig } from "./config";
import { createLog, errorMessage } from "./log";
import { cpuProbe, nvidiaSmiProbe } from "./memory";
import { Metrics } from "./metrics";
import { healthApp, startHealthServer } from "./server";
import { VramManager } from "./vram";
import { GpuWorker, modelLoader } from "./worker";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = createLog(config.logLevel);
  const metrics = new Metrics();
  const probe = config.device === "cuda" ? nvidiaSmiProbe(log) : cpuProbe();
  const vram = new VramManager({
    budgetMiB: config.budgetMiB,
    load: modelLoader(backend, {
      device: config.device,
      threads: config.threads,
      log,
      hfEndpoint: config.hfEndpoint,
      hfToken: config.hfToken,
    }),
    probe,
    // On a GPU, nvidia-smi's per-process figure is the model's real footprint; on a CPU, RSS deltas are only a hint.
    chargeMeasured: config.device === "cuda",
    log,
    onLoad: (id, ms) => metrics.modelLoaded(id, ms),
    onUnload: (id, ms) => metrics.modelUnloaded(id, ms),
  });
  const worker = new GpuWorker({
    config,
    models: config.models,
    client: edgeClient(config.edgeUrl, config.secret),
    vram,
    metrics,
    log,
  });
  const server = await startHealthServer(
    healthApp({
      device: config.device,
      types: config.types,
      ledger: () => vram.snapshot(),
      inFlight: () => worker.running.size,
      draining: () => worker.draining,
      started: () => worker.started,
      metrics,
    }),
    config.host,
    config.port,
  );
  log.info("GPU worker started", {
    edge: config.edgeUrl,
    device: config.device,
    budgetMiB: config.budgetMiB,
    types: config.types,
    maxJobs: config.maxJobs,
    health: `${server.url}/health`,
    models: config.models.map((m) => `${m.id} (${m.backend})`),
    // A provisioned entry that `replaces` another (a Piper voice for espeak-ng) runs that model's jobs.
    replaced: [...jobModels(config.models)].filter(([id, m]) => m.id !== id).map(([id, m]) => `${id} → ${m.id}`),
  });
  for (const entry of config.models.filter((m) => m.pinned)) {
    try {
      await vram.preload(entry);
    } catch (err) {
      log.warn("pinned model did not load at start; jobs will retry the load", {
        model: entry.id,
        error: errorMessage(err),
      });
    }
  }
  worker.start();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("draining", { signal, graceMs: config.shutdownGraceMs, jobsInFlight: worker.running.size });
    await worker.stop(config.shutdownGraceMs);
    await vram.close();
    await server.close();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  console.error(`[gpu-worker] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
