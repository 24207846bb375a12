// What the HTTP and WebSocket front ends need from a database, and the choice between the two:
// an embedded PGlite (default) or any Postgres named by a URL.
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type pg from "pg";
import type { Mutex } from "./lock";

export type BackendKind = "pglite" | "postgres";

export interface BackendOptions {
  /** Any Postgres; when absent, PGlite in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  migrationsFolder?: string;
  /** How long an HTTP request or a relayed transaction waits for PGlite's one session. */
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

/** PGlite: one shared session, so WebSocket sessions are relayed one transaction at a time. */
export interface PgliteBackend extends BackendCommon {
  readonly kind: "pglite";
  readonly lock: Mutex;
  /** A raw wire-protocol connection into PGlite's one session (via pglite-socket). */
  connectRaw(): Socket;
  /** Last resort when a relayed session cannot be cleaned through its own connection. */
  rollbackDirect(): Promise<void>;
}

export interface AuthenticatedConnection {
  /** Past authentication and idle (ReadyForQuery 'I'); from here on it is a plain byte pipe. */
  stream: Duplex;
  /** The ParameterStatus values the server announced, replayed to the WebSocket client. */
  parameters: [string, string][];
  processId: number;
  secretKey: number;
}

/** Real Postgres: every WebSocket session gets its own server connection. */
export interface PostgresBackend extends BackendCommon {
  readonly kind: "postgres";
  /**
   * Opens and authenticates a server connection with the bridge's own credentials (the client's
   * user, database and password are not the server's), keeping the client's application_name.
   */
  connectSession(startup: Map<string, string>): Promise<AuthenticatedConnection>;
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
