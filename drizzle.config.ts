import { defineConfig } from "drizzle-kit";

// `npm run db:generate` writes SQL migrations from the schema; the migration runner
// (src/lib/db/migrate.ts) applies them, from the dev bridge at start or `npm run db:migrate`.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/lib/db/schema.ts",
  out: "./migrations",
});
