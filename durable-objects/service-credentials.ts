// Service credentials (docs/service-credentials.md): secrets that let another service call a scoped set of
// routes (e.g. publishing to the hub) without a user. One object for all of them: they are few, and a
// revocation must bite on the very next call, which a single consistent home gives for free.
import { DurableObject } from "cloudflare:workers";
import type { ServiceCredentialInfo, ServiceScope } from "../src/lib/identity/service-credentials";
import type { Env } from "../src/lib/platform/env";
import { migrateSqlite } from "./sqlite-migrations";

type Row = {
  id: string;
  name: string;
  scopes: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
};

/** last_used_at is written at most this often per credential, so a busy service does not write on every call. */
const LAST_USED_RESOLUTION_MS = 60_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toInfo(row: Row): ServiceCredentialInfo {
  return {
    id: row.id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as ServiceScope[],
    createdAt: new Date(row.created_at).toISOString(),
    revokedAt: iso(row.revoked_at),
    lastUsedAt: iso(row.last_used_at),
  };
}

/** The schema, one entry per version (durable-objects/sqlite-migrations.ts). */
const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS credentials (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    last_used_at INTEGER
  )`,
];

export class ServiceCredentials extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateSqlite(ctx.storage, MIGRATIONS);
  }

  /** Stores a new credential by its secret's hash (the secret itself is never stored). */
  add(id: string, name: string, scopes: ServiceScope[], secretHash: string): ServiceCredentialInfo {
    this.ctx.storage.sql.exec(
      "INSERT INTO credentials (id, name, scopes, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)",
      id,
      name,
      JSON.stringify(scopes),
      secretHash,
      Date.now(),
    );
    return toInfo(this.row(id) as Row);
  }

  /** The live (unrevoked) credential whose secret hashes to this, if any. */
  byHash(secretHash: string): ServiceCredentialInfo | null {
    const row = this.ctx.storage.sql
      .exec<Row>("SELECT * FROM credentials WHERE secret_hash = ? AND revoked_at IS NULL", secretHash)
      .toArray()[0];
    if (!row) return null;
    const now = Date.now();
    if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_RESOLUTION_MS) {
      this.ctx.storage.sql.exec("UPDATE credentials SET last_used_at = ? WHERE id = ?", now, row.id);
      row.last_used_at = now;
    }
    return toInfo(row);
  }

  revoke(id: string): boolean {
    return (
      this.ctx.storage.sql.exec(
        "UPDATE credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        Date.now(),
        id,
      ).rowsWritten > 0
    );
  }

  list(): ServiceCredentialInfo[] {
    return this.ctx.storage.sql.exec<Row>("SELECT * FROM credentials ORDER BY created_at, id").toArray().map(toInfo);
  }

  private row(id: string): Row | undefined {
    return this.ctx.storage.sql.exec<Row>("SELECT * FROM credentials WHERE id = ?", id).toArray()[0];
  }
}
