// Node-side migration runner (the dev bridge at start, `npm run db:migrate`, tests).
// Workers never run migrations: a request must not race another to alter the schema.
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import type { Client, PoolClient } from "pg";

const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../../migrations", import.meta.url));

/** Applies every pending migration in one transaction; safe to call on every start. */
export async function runMigrations(client: Client | PoolClient, migrationsFolder = MIGRATIONS_FOLDER): Promise<void> {
  await migrate(drizzle(client), { migrationsFolder });
}
