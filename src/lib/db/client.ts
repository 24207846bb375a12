// The database factory: Neon's SQL over HTTP, for single statements and for batches, which run as one transaction
// (db.batch: every statement commits or none does). There are no interactive transactions: no route holds a
// connection across its own code, and a rule that needs one is a single statement or a batch (docs/architecture.md).
import { neon, neonConfig } from "@neondatabase/serverless";
import { drizzle as drizzleHttp, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import type { Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import { DatabaseUnavailableError } from "./errors";
import * as schema from "./schema";

export type Schema = typeof schema;
export type HttpDb = NeonHttpDatabase<Schema>;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** Each database call's own limit (docs/operations.md): past it the call fails as `unavailable`. */
const DB_CALL_TIMEOUT_MS = 10_000;

/**
 * Every SQL-over-HTTP call goes through this fetch: bounded by DB_CALL_TIMEOUT_MS, and a connection failure,
 * a timeout or a 5xx from the database's endpoint becomes DatabaseUnavailableError (503 in src/lib/db/errors.ts).
 */
async function databaseFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const timeout = AbortSignal.timeout(DB_CALL_TIMEOUT_MS);
  const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(input, { ...init, signal });
  } catch (error) {
    throw new DatabaseUnavailableError(timeout.aborted ? "timed out" : "unreachable", error);
  }
  if (res.status >= 500) {
    await res.body?.cancel();
    throw new DatabaseUnavailableError(`answered ${res.status}`);
  }
  return res;
}

/**
 * Once per isolate (the settings are global): every call through databaseFetch; and, since Neon's cloud is never
 * on loopback, a loopback host means the dev bridge (dev/db-bridge), over plain HTTP. The bridge's secret is the
 * connection string's password, which the driver sends with every call (docs/security.md).
 */
let configured = false;
function configureForUrl(url: string): void {
  if (configured) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error("DATABASE_URL is not a valid URL");
  }
  neonConfig.fetchFunction = databaseFetch;
  configured = true;
  if (!LOOPBACK.has(parsed.hostname)) return;
  neonConfig.fetchEndpoint = (h, port) => `http://${h}:${port}/sql`;
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
