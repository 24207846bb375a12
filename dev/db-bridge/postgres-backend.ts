// Any Postgres named by a URL: a pg.Pool for HTTP requests, and for each WebSocket session its own
// connection, opened and authenticated by `pg` (TLS, SCRAM, md5 as the URL requires) and then
// handed over to the relay as a raw byte stream.
import type { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import pg from "pg";
import { runMigrations } from "../../src/lib/db/migrate";
import { type AuthenticatedConnection, type BackendOptions, lendClient, type PostgresBackend } from "./backend";

const POOL_MAX = 10;

/** The parts of pg's Client that a handover needs but @types/pg does not declare. */
interface ClientInternals {
  connection: EventEmitter & { stream: Duplex };
  processID: number | null;
  secretKey: number | null;
}

export async function openPostgres(databaseUrl: string, opts: BackendOptions): Promise<PostgresBackend> {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: POOL_MAX,
    connectionTimeoutMillis: opts.lockTimeoutMs,
    application_name: "db-bridge",
  });
  pool.on("error", (error) => opts.log(`postgres pool client error: ${error.message}`));

  const backend: PostgresBackend = {
    kind: "postgres",
    withClient: (fn) => lendClient(pool, fn),
    async connectSession(startup): Promise<AuthenticatedConnection> {
      const client = new pg.Client({
        connectionString: databaseUrl,
        application_name: startup.get("application_name") ?? startup.get("fallback_application_name") ?? "db-bridge",
        ...(startup.has("options") ? { options: startup.get("options") } : {}),
        connectionTimeoutMillis: opts.lockTimeoutMs,
      });
      const internals = client as unknown as ClientInternals; // see ClientInternals
      const parameters: [string, string][] = [];
      internals.connection.on("parameterStatus", (m: { parameterName: string; parameterValue: string }) => {
        parameters.push([m.parameterName, m.parameterValue]);
      });
      await client.connect();
      // From here pg must not read or react to the stream: detach its parser and its handlers
      // (an 'error' with no listener would crash the process, hence the quiet ones).
      const connection = internals.connection;
      const stream = connection.stream;
      stream.removeAllListeners("data");
      connection.removeAllListeners();
      connection.on("error", () => {});
      client.removeAllListeners();
      client.on("error", () => {});
      return { stream, parameters, processId: internals.processID ?? 0, secretKey: internals.secretKey ?? 0 };
    },
    async close() {
      await pool.end();
    },
  };

  try {
    await backend.withClient((client) => runMigrations(client, opts.migrationsFolder));
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  return backend;
}
