// Where each end-to-end run keeps its state: temp dirs, and a fresh database when DATABASE_URL names a server.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createScratchDatabase } from "../../dev/db-bridge/throwaway";

export interface Scratch {
  dir: string;
  /** A fresh database on DATABASE_URL's server, or undefined to use PGlite. */
  databaseUrl: string | undefined;
  cleanup(): Promise<void>;
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
