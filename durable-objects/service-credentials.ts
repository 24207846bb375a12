// Machine credentials: service credentials (docs/service-credentials.md), secrets that let another service call a
// scoped set of routes (e.g. publishing to the hub) without a user, and GPU worker credentials (docs/jobs.md). One
// object for all of them: they are few, only their hashes are kept, and a revocation must bite on the very next call,
// which a single consistent home gives for free. The job board keeps what it sees of a worker (last seen, free VRAM,
// loaded models), not who the worker is (docs/architecture.md "Durable Objects").
import { DurableObject } from "cloudflare:workers";
import type { ServiceCredentialInfo, ServiceScope } from "../src/lib/identity/service-credentials";
import type { GpuWorkerCredential } from "../src/lib/jobs/worker-credential";
import type { Env } from "../src/lib/platform/env";
import { ok, type Refusable, refuse } from "../src/lib/platform/refusal";
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

type WorkerRow = { id: string; name: string; created_at: number; revoked_at: number | null };

function toWorker(row: WorkerRow): GpuWorkerCredential {
  return {
    id: row.id,
    name: row.name,
    createdAt: new Date(row.created_at).toISOString(),
    revokedAt: iso(row.revoked_at),
  };
}

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
  // 2: GPU worker credentials, which the job board kept before.
  `CREATE TABLE gpu_workers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
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

  revoke(id: string): Refusable<void> {
    return this.revokeIn("credentials", id, "Service credential not found");
  }

  list(): ServiceCredentialInfo[] {
    return this.ctx.storage.sql.exec<Row>("SELECT * FROM credentials ORDER BY created_at, id").toArray().map(toInfo);
  }

  // ---- GPU worker credentials ----

  addGpuWorker(id: string, name: string, secretHash: string): GpuWorkerCredential {
    this.ctx.storage.sql.exec(
      "INSERT INTO gpu_workers (id, name, secret_hash, created_at) VALUES (?, ?, ?, ?)",
      id,
      name,
      secretHash,
      Date.now(),
    );
    return toWorker(this.ctx.storage.sql.exec<WorkerRow>("SELECT * FROM gpu_workers WHERE id = ?", id).one());
  }

  /**
   * The configured bootstrap credential as a worker: registered on first use, and refused once revoked (the row
   * stays, so a revocation holds until the secret changes; a new secret is a new worker).
   */
  bootstrapGpuWorker(id: string, name: string, secretHash: string): { id: string } | null {
    this.ctx.storage.sql.exec(
      "INSERT OR IGNORE INTO gpu_workers (id, name, secret_hash, created_at) VALUES (?, ?, ?, ?)",
      id,
      name,
      secretHash,
      Date.now(),
    );
    return this.gpuWorkerByHash(secretHash);
  }

  /** The live (unrevoked) worker whose secret hashes to this, if any. */
  gpuWorkerByHash(secretHash: string): { id: string } | null {
    const row = this.ctx.storage.sql
      .exec<{ id: string }>("SELECT id FROM gpu_workers WHERE secret_hash = ? AND revoked_at IS NULL", secretHash)
      .toArray()[0];
    return row ?? null;
  }

  revokeGpuWorker(id: string): Refusable<void> {
    return this.revokeIn("gpu_workers", id, "Worker not found");
  }

  gpuWorkers(): GpuWorkerCredential[] {
    return this.ctx.storage.sql
      .exec<WorkerRow>("SELECT * FROM gpu_workers ORDER BY created_at, id")
      .toArray()
      .map(toWorker);
  }

  // ---- internals ----

  private revokeIn(table: "credentials" | "gpu_workers", id: string, notFound: string): Refusable<void> {
    const revoked = this.ctx.storage.sql.exec(
      `UPDATE ${table} SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
      Date.now(),
      id,
    ).rowsWritten;
    return revoked > 0 ? ok(undefined) : refuse("not_found", notFound);
  }

  private row(id: string): Row | undefined {
    return this.ctx.storage.sql.exec<Row>("SELECT * FROM credentials WHERE id = ?", id).toArray()[0];
  }
}
