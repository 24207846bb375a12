// The one drizzle schema: the Worker, the dev bridge, the GPU worker and scripts all import it.
import { sql } from "drizzle-orm";
import { boolean, pgTable, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * One row per database, written by the first migration. Its id names this installation
 * in /health, which also proves that data survives a restart of the database.
 */
export const instance = pgTable("instance", {
  id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
  // A unique constant column keeps the table to a single row.
  singleton: boolean("singleton").notNull().default(true).unique(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});
