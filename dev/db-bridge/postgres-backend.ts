// Any Postgres named by a URL: a pg.Pool for HTTP requests (TLS, SCRAM, md5 as the URL requires).
import pg from "pg";
import { runMigrations } from "../../src/lib/db/migrate";
import { type BackendOptions, lendClient, type PostgresBackend } from "./backend";

const POOL_MAX = 10;

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
