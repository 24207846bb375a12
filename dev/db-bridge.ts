// `npm run db:bridge`: the embedded Postgres bridge as a process (the dev runner starts it).
// Env: DB_BRIDGE_PORT (default 5480), DATABASE_URL (any Postgres; default PGlite), PGLITE_DIR, DB_BRIDGE_SECRET
// (the secret clients must present; default a fresh random one, which then only this process knows).
// Prints one line containing "db-bridge ready" and the Worker's DATABASE_URL with its secret masked on stdout;
// everything else goes to stderr.
import { createServer } from "node:net";
import { resolve } from "node:path";
import { DataDirLockedError } from "./db-bridge/data-dir-lock";
import { type Bridge, DEFAULT_DATA_DIR, maskSecret, startBridge } from "./db-bridge/server";

const CLOSE_TIMEOUT_MS = 15_000;
const log = (line: string) => process.stderr.write(`[db-bridge] ${line}\n`);

/** Checked before PGlite's multi-second start so a taken port fails at once; listen() still decides. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once("error", () => done(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => done(true)));
  });
}

function fail(message: string): never {
  process.stderr.write(`db-bridge: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const rawPort = process.env.DB_BRIDGE_PORT ?? "5480";
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`DB_BRIDGE_PORT must be a port number, not ${rawPort}`);
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const dataDir = process.env.PGLITE_DIR ? resolve(process.env.PGLITE_DIR) : DEFAULT_DATA_DIR;

  const portTaken: () => never = () =>
    fail(`port ${port} on 127.0.0.1 is already in use (set DB_BRIDGE_PORT to a free one)`);
  if (port !== 0 && !(await portIsFree(port))) portTaken();

  // Installed before the (slow) start, so a signal during it still ends in a clean close.
  let bridge: Bridge | undefined;
  let stopRequested: string | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1); // a second Ctrl-C means now; PGlite survives that like kill -9
    if (!bridge) {
      stopRequested = signal;
      return;
    }
    stopping = true;
    log(`${signal}: closing`);
    const timer = setTimeout(() => fail(`did not close within ${CLOSE_TIMEOUT_MS} ms`), CLOSE_TIMEOUT_MS);
    timer.unref();
    bridge.close().then(
      () => process.exit(0),
      (error: Error) => fail(`close failed: ${error.message}`),
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  try {
    bridge = await startBridge({ port, databaseUrl, dataDir, log, secret: process.env.DB_BRIDGE_SECRET || undefined });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") portTaken();
    if (error instanceof DataDirLockedError) fail(error.message);
    fail(`could not start: ${e.message ?? String(error)}`);
  }
  if (stopRequested) {
    stop(stopRequested);
    return;
  }
  const where = bridge.backend === "pglite" ? `PGlite ${dataDir}` : "Postgres (DATABASE_URL)";
  process.stdout.write(`db-bridge ready ${maskSecret(bridge.url)} (${where})\n`);
}

void main();
