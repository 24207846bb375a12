// What the HTTP front end needs from a database, and the choice between the two: an embedded PGlite (default) or
// any Postgres named by a URL.
import type pg from "pg";

export type BackendKind = "pglite" | "postgres";

export interface BackendOptions {
  /** Any Postgres; when absent, PGlite in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  migrationsFolder?: string;
  /** How long an HTTP request waits for PGlite's one session (or for a Postgres connection). */
  lockTimeoutMs: number;
  log: (line: string) => void;
}

interface BackendCommon {
  /**
   * Lends a pg client to one HTTP request, alone on it for the duration. Any transaction the
   * request left open is rolled back before the client goes back.
   */
  withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** PGlite: one shared session, lent to one HTTP request at a time. */
export interface PgliteBackend extends BackendCommon {
  readonly kind: "pglite";
}

/** Real Postgres: a pool of server connections. */
export interface PostgresBackend extends BackendCommon {
  readonly kind: "postgres";
}

export type Backend = PgliteBackend | PostgresBackend;

/** Shared by both backends so an HTTP request runs the same code whichever answers it. */
export async function lendClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await fn(client);
  } catch (error) {
    // A connection-level failure leaves no DatabaseError fields: do not reuse that client.
    if (!(error instanceof Error) || !("severity" in error)) broken = error instanceof Error ? error : undefined;
    throw error;
  } finally {
    if (!broken && client.getTransactionStatus() !== "I") {
      // A lone `BEGIN` sent over HTTP must not leak its transaction into the next request.
      await client.query("ROLLBACK").catch((error: Error) => {
        broken = error;
      });
    }
    client.release(broken);
  }
}

export async function openBackend(opts: BackendOptions): Promise<Backend> {
  if (opts.databaseUrl) {
    const { openPostgres } = await import("./postgres-backend");
    return openPostgres(opts.databaseUrl, opts);
  }
  const { openPglite } = await import("./pglite-backend");
  return openPglite(opts.dataDir, opts);
}
