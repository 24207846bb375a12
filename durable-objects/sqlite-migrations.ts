// Versioned SQLite schemas for Durable Objects (docs/architecture.md "Rules for adding"). An object lists its
// migrations in order; the one-row table `schema_version` records how many have run, so each runs once, in one
// transaction with the version bump. (SQLite's own `PRAGMA user_version` would do, but Durable Objects' SQLite
// refuses it: SQLITE_AUTH.) Change a schema by appending a migration, never by editing one that has shipped: storage
// that already ran it would never see the edit. A first migration may use IF NOT EXISTS, for storage created before
// the objects were versioned.

const VERSION_TABLE =
  "CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)";

/** How many of its migrations `storage` has run. */
export function schemaVersion(storage: DurableObjectStorage): number {
  storage.sql.exec(VERSION_TABLE);
  return (
    storage.sql.exec<{ version: number }>("SELECT version FROM schema_version WHERE id = 1").toArray()[0]?.version ?? 0
  );
}

/** Applies the migrations `storage` has not run yet; throws when the storage is newer than the code. */
export function migrateSqlite(storage: DurableObjectStorage, migrations: readonly string[]): void {
  const applied = schemaVersion(storage);
  if (applied > migrations.length) {
    throw new Error(`SQLite schema version ${applied} is newer than this code's ${migrations.length} migrations`);
  }
  if (applied === migrations.length) return;
  storage.transactionSync(() => {
    for (const migration of migrations.slice(applied)) storage.sql.exec(migration);
    storage.sql.exec(
      "INSERT INTO schema_version (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version",
      migrations.length,
    );
  });
}
