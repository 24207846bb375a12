// PGlite persisted in a data dir, served to the bridge's own `pg` clients through pglite-socket on
// a private Unix socket, so the HTTP path talks the same wire protocol as with a real Postgres and
// nothing but the bridge's loopback port is reachable from outside the process.
//
// pglite-socket 0.2.17 (read before relying on it): every connection it accepts shares PGlite's one
// session; it queues messages per connection but not per transaction, so concurrent clients corrupt
// each other (the lock here prevents that: one HTTP request at a time has the session).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { fuzzystrmatch } from "@electric-sql/pglite/contrib/fuzzystrmatch";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { unaccent } from "@electric-sql/pglite/contrib/unaccent";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import pg from "pg";
import { runMigrations } from "../../src/lib/db/migrate";
import { type BackendOptions, lendClient, type PgliteBackend } from "./backend";
import { isAlive, lockDataDir } from "./data-dir-lock";
import { Mutex } from "./lock";

const SOCKET_PORT = 5432; // only names the socket file: pg looks for <dir>/.s.PGSQL.<port>
/** Far above the bridge's own one pg client; the lock, not this limit, serialises the work. */
const SOCKET_MAX_CONNECTIONS = 1024;

const SOCKET_DIR_PREFIX = "db-bridge-";

/**
 * Postgres settings for PGlite (docs/operations.md "Memory"): Postgres's default 128 MB of shared buffers live in
 * PGlite's WebAssembly memory, in this process; 16 MB holds a development database's working set. PGLITE_SHARED_BUFFERS
 * overrides it (any Postgres size, e.g. "64MB").
 */
function pgliteSettings(): string[] {
  const sharedBuffers = process.env.PGLITE_SHARED_BUFFERS || "16MB";
  if (!/^\d+(kB|MB|GB)$/.test(sharedBuffers))
    throw new Error(`PGLITE_SHARED_BUFFERS must look like 16MB, not ${sharedBuffers}`);
  return [`shared_buffers=${sharedBuffers}`];
}

/** PGlite with the extensions the migrations create (it offers only those it was opened with). */
function createPglite(dataDir: string): Promise<PGlite> {
  return PGlite.create(dataDir, { extensions: { pg_trgm, unaccent, fuzzystrmatch }, postgresqlconf: pgliteSettings() });
}

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const INITDB = `import { PGlite } from "@electric-sql/pglite";
const db = await PGlite.create(process.argv[1]);
await db.close();`;

/**
 * A new data dir's initdb, in a short-lived child process. Run in this process it left about 100-150 MB behind even
 * after its instance was closed and collected: the memory V8's compiler threads took from the C allocator, which
 * keeps it (docs/benchmarks.md "The self-hosted runtime's memory, third pass").
 */
function initdbInChild(dataDir: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", INITDB, dataDir],
      { cwd: REPO_ROOT, maxBuffer: 4 * 1024 * 1024 },
      (error, _stdout, stderr) => {
        if (error) reject(new Error(`PGlite initdb in ${dataDir} failed: ${stderr || error.message}`));
        else resolvePromise();
      },
    );
  });
}

/** Socket dirs are named after their process; a bridge killed with -9 leaves one, swept here. */
function sweepStaleSocketDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(new RegExp(`^${SOCKET_DIR_PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (pid && pid !== process.pid && !isAlive(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

export async function openPglite(dataDir: string, opts: BackendOptions): Promise<PgliteBackend> {
  mkdirSync(dirname(dataDir), { recursive: true }); // NodeFS creates only the last path segment
  const unlock = await lockDataDir(dataDir);
  let socketDir: string | undefined;
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  let pool: pg.Pool | undefined;
  const lock = new Mutex();

  const shutdown = async () => {
    await pool?.end().catch(() => {});
    await server?.stop().catch(() => {});
    // pglite-socket detaches its handlers without awaiting them; let those callbacks run first.
    await new Promise((resolve) => setImmediate(resolve));
    if (db && !db.closed) await db.close();
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
    unlock();
  };

  try {
    sweepStaleSocketDirs();
    socketDir = mkdtempSync(join(tmpdir(), `${SOCKET_DIR_PREFIX}${process.pid}-`));
    const socketPath = join(socketDir, `.s.PGSQL.${SOCKET_PORT}`);
    const started = Date.now();
    if (!existsSync(join(dataDir, "PG_VERSION"))) await initdbInChild(dataDir);
    db = await createPglite(dataDir);
    server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: SOCKET_MAX_CONNECTIONS });
    await server.start();
    const httpPool = new pg.Pool({
      host: socketDir,
      port: SOCKET_PORT,
      user: "tessera",
      database: "tessera",
      max: 1,
      // Closing a client would only send PGlite a Terminate it ignores; keep the one client.
      idleTimeoutMillis: 0,
    });
    pool = httpPool;
    httpPool.on("error", (error) => opts.log(`pglite pool client error: ${error.message}`));
    opts.log(`PGlite opened ${dataDir} in ${Date.now() - started} ms`);

    const pglite = db;
    const rollbackDirect = async () => {
      if (!pglite.closed && pglite.isInTransaction()) await pglite.exec("ROLLBACK");
    };
    const backend: PgliteBackend = {
      kind: "pglite",
      async withClient(fn) {
        const release = await lock.acquire(opts.lockTimeoutMs);
        try {
          return await lendClient(httpPool, fn);
        } finally {
          // A client that died mid-request cannot roll back itself; the session outlives it.
          await rollbackDirect().catch((error: Error) => opts.log(`rollback after a failed request: ${error.message}`));
          release();
        }
      },
      async close() {
        // Wait for the request in progress; past the wait, close regardless.
        const release = await lock.acquire(opts.lockTimeoutMs).catch(() => undefined);
        try {
          await shutdown();
        } finally {
          release?.();
        }
      },
    };
    await backend.withClient((client) => runMigrations(client, opts.migrationsFolder));
    return backend;
  } catch (error) {
    await shutdown().catch(() => {});
    throw error;
  }
}
