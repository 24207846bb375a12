// `npm run db:migrate`: applies the migrations to the database named by DATABASE_URL
// (Neon in production: use its direct, non-pooled connection string). Locally the bridge does this at start.
import pg from "pg";
import { runMigrations } from "../src/lib/db/migrate";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error("DATABASE_URL is not set: export the Postgres connection string to migrate.");
  process.exit(2);
}
const client = new pg.Client({ connectionString: url });
try {
  await client.connect();
  const started = Date.now();
  await runMigrations(client);
  const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM drizzle.__drizzle_migrations");
  console.log(`migrations applied: ${rows[0]?.n ?? "?"} in total, ${Date.now() - started} ms`);
} catch (err) {
  console.error(`migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await client.end().catch(() => {});
}
