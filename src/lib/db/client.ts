// The database factory: Neon's SQL over HTTP, for single statements and for batches, which run as one transaction
// (db.batch: every statement commits or none does). There are no interactive transactions: no route holds a
// connection across its own code, and a rule that needs one is a single statement or a batch (docs/architecture.md).
import { neon, neonConfig } from "@neondatabase/serverless";
import { drizzle as drizzleHttp, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import type { Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import * as schema from "./schema";

export type Schema = typeof schema;
export type HttpDb = NeonHttpDatabase<Schema>;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/**
 * Neon's cloud is never on loopback, so a loopback host means the dev bridge (dev/db-bridge):
 * point the driver at it over plain HTTP. Done once per isolate; the settings are global.
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
  localConfigured = true;
}

/** Only what the factory reads, so Node scripts can pass `{ DATABASE_URL }` without the Worker's bindings. */
type DatabaseEnv = Pick<Env, "DATABASE_URL">;

function databaseUrl(env: DatabaseEnv): string {
  if (!env.DATABASE_URL) throw new ApiError("unavailable", "The database is not configured");
  configureForUrl(env.DATABASE_URL);
  return env.DATABASE_URL;
}

/** Drizzle over Neon's SQL-over-HTTP: safe to create per request, holds no socket. */
export function db(env: DatabaseEnv): HttpDb {
  return drizzleHttp(neon(databaseUrl(env)), { schema });
}
