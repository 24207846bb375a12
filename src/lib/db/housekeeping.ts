// Hourly housekeeping: rows past any use that nothing else deletes. Reads already ignore them; this keeps the tables
// (and their indexes) from growing without bound. Batched, so one run never holds a long lock.
import { sql } from "drizzle-orm";
import type { Env } from "../platform/env";
import { db } from "./client";

/** Rows one run deletes per table at most; the next run takes the rest. */
const HOUSEKEEPING_BATCH = 5_000;
/** A session is kept this long past its expiry, so a late refresh still finds it and is refused as expired. */
const EXPIRED_SESSION_GRACE = "1 day";

interface PurgeCounts {
  memories: number;
  sessions: number;
}

export async function purgeExpired(env: Pick<Env, "DATABASE_URL">): Promise<PurgeCounts> {
  const database = db(env);
  // A session's refresh tokens go with it (ON DELETE CASCADE).
  const [memories, sessions] = await database.batch([
    database.execute(sql`DELETE FROM memories WHERE id IN (
      SELECT id FROM memories WHERE expires_at <= now() LIMIT ${HOUSEKEEPING_BATCH})`),
    database.execute(sql`DELETE FROM sessions WHERE id IN (
      SELECT id FROM sessions WHERE expires_at <= now() - ${EXPIRED_SESSION_GRACE}::interval LIMIT ${HOUSEKEEPING_BATCH})`),
  ]);
  return { memories: memories.rowCount ?? 0, sessions: sessions.rowCount ?? 0 };
}
