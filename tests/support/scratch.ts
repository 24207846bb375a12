// Where each end-to-end run keeps its state: temp dirs, and a fresh database when DATABASE_URL names a server.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export interface Scratch {
  dir: string;
  /** A fresh database on DATABASE_URL's server, or undefined to use PGlite. */
  databaseUrl: string | undefined;
  cleanup(): Promise<void>;
}

export async function createScratchDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tessera_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export async function createScratch(prefix: string): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  const server = process.env.DATABASE_URL;
  const database = server ? await createScratchDatabase(server) : undefined;
  return {
    dir,
    databaseUrl: database?.url,
    async cleanup() {
      await database?.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
