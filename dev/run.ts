// `npm run dev`: the whole suite with one command. Ctrl-C or SIGTERM stops every child it started.
import { join } from "node:path";
import { localGpuWorkerSecret, localSigningKeys } from "./lib/dev-secrets";
import { assertPortFree, freePort } from "./lib/processes";
import { ROOT, startDevSuite } from "./lib/suite";

const env = process.env;
const port = Number(env.PORT ?? 8787);
const bridgePort = Number(env.DB_BRIDGE_PORT ?? 5480);
/** Everything local lives here: PGlite's data, wrangler's state, the dev signing keys. */
const dataDir = env.TESSERA_DATA_DIR ?? join(ROOT, ".data");

async function main(): Promise<void> {
  await assertPortFree(port, "PORT");
  await assertPortFree(bridgePort, "DB_BRIDGE_PORT");
  if (env.GPU_WORKER !== "0") await assertPortFree(Number(env.GPU_WORKER_PORT ?? 9477), "GPU_WORKER_PORT");
  const inspectorPort = env.INSPECTOR_PORT ? Number(env.INSPECTOR_PORT) : await freePort();
  const keys = await localSigningKeys(join(dataDir, "dev-signing-keys.json"), join(ROOT, ".dev.vars"));
  const gpuWorkerSecret = await localGpuWorkerSecret(join(dataDir, "dev-gpu-worker.json"), join(ROOT, ".dev.vars"));
  const vars: Record<string, string> = { ...keys, GPU_WORKER_BOOTSTRAP_SECRET: gpuWorkerSecret };
  // Passed through from this environment to the Worker (the gateway's route table).
  for (const name of ["GATEWAY_ROUTES"]) if (env[name]) vars[name] = env[name] as string;

  const started = Date.now();
  const suite = await startDevSuite({
    port,
    bridgePort,
    inspectorPort,
    pgliteDir: env.PGLITE_DIR ?? join(dataDir, "pglite"),
    databaseUrl: env.DATABASE_URL || undefined,
    persistDir: env.WRANGLER_PERSIST_DIR ?? join(dataDir, "wrangler"),
    vars,
    // The GPU worker in CPU mode (GPU_WORKER=0 leaves it out); models it fetched live under .data/models.
    gpuWorker:
      env.GPU_WORKER === "0"
        ? undefined
        : {
            secret: gpuWorkerSecret,
            port: Number(env.GPU_WORKER_PORT ?? 9477),
            env: { GPU_WORKER_MODELS_DIR: env.GPU_WORKER_MODELS_DIR ?? join(dataDir, "models") },
          },
  });

  let shuttingDown = false;
  const shutdown = async (reason: string, code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    console.log(`\n[dev] ${reason}: stopping…`);
    await suite.stop();
    console.log("[dev] stopped");
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown("SIGINT", 0));
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));
  suite.firstExit.then(({ name, code }) => shutdown(`${name} exited (${code})`, 1));

  const backend = env.DATABASE_URL
    ? "Postgres (DATABASE_URL)"
    : `PGlite (${env.PGLITE_DIR ?? join(dataDir, "pglite")})`;
  console.log(`
[dev] Tessera is up in ${((Date.now() - started) / 1000).toFixed(1)} s
[dev]   API       ${suite.workerUrl}          (health: ${suite.workerUrl}/health, docs: ${suite.workerUrl}/docs)
[dev]   database  ${suite.bridgeUrl}  bridge → ${backend}
${suite.gpuWorkerUrl ? `[dev]   GPU       ${suite.gpuWorkerUrl}  worker (CPU; health, metrics)\n` : ""}[dev] Ctrl-C stops everything.
`);
}

main().catch((err: unknown) => {
  console.error(`[dev] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
