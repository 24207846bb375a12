// The database factory. SQL over HTTP for single statements and batches (no connection to hold);
// a WebSocket Pool, created and ended within one request, for interactive transactions.
import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle as drizzleHttp, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import { drizzle as drizzlePool, type NeonDatabase } from "drizzle-orm/neon-serverless";
import type { Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import * as schema from "./schema";

export type Schema = typeof schema;
export type HttpDb = NeonHttpDatabase<Schema>;
export type TxDb = NeonDatabase<Schema>;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/**
 * Neon's cloud is never on loopback, so a loopback host means the dev bridge (dev/db-bridge):
 * point both protocols at it over plain HTTP/WS. Done once per isolate; the settings are global.
 */
let localConfigured = false;
function configureForUrl(url: string): void {
  if (localConfigured) return;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    throw new Error("DATABASE_URL is not a valid URL");
  }
  if (!LOOPBACK.has(host)) return;
  neonConfig.fetchEndpoint = (h, port) => `http://${h}:${port}/sql`;
  neonConfig.wsProxy = (h, port) => `${h}:${port}/v2`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  localConfigured = true;
}

/** Only what the factory reads, so Node scripts can pass `{ DATABASE_URL }` without the Worker's bindings. */
type DatabaseEnv = Pick<Env, "DATABASE_URL">;

function databaseUrl(env: DatabaseEnv): string {
  if (!env.DATABASE_URL) throw new ApiError("unavailable", "The database is not configured");
  configureForUrl(env.DATABASE_URL);
  return env.DATABASE_URL;
}

/** One per URL and isolate: drizzle works out the schema's relations each time one is made (per request, before). */
const httpDbs = new Map<string, HttpDb>();

/** Drizzle over Neon's SQL-over-HTTP: holds no socket (each query is one fetch), so one serves every request. */
export function db(env: DatabaseEnv): HttpDb {
  const url = databaseUrl(env);
  let database = httpDbs.get(url);
  if (!database) {
    // Tests make databases at many URLs; an isolate in production sees one.
    if (httpDbs.size >= 8) httpDbs.clear();
    database = drizzleHttp(neon(url), { schema });
    httpDbs.set(url, database);
  }
  return database;
}

/**
 * Runs `fn` with a transaction-capable database on a Pool that lives for this request only
 * (a module-level Pool fails on the next request in workerd). The pool is ended after the
 * response through waitUntil, so the client never waits for the socket to close.
 */
export async function withPool<T>(
  env: DatabaseEnv,
  ctx: Pick<ExecutionContext, "waitUntil">,
  fn: (db: TxDb) => Promise<T>,
): Promise<T> {
  const pool = new Pool({ connectionString: databaseUrl(env), max: 1 });
  try {
    return await fn(drizzlePool({ client: pool, schema }));
  } finally {
    ctx.waitUntil(pool.end());
  }
}
