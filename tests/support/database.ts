// A database for one test run: a fresh database on the server named by DATABASE_URL when set
// (CI points it at the machine's Postgres), otherwise a PGlite data dir in a temp folder.
// Either way the real bridge serves it, so the Worker's Neon driver is exercised end to end.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBridge } from "../../dev/db-bridge/server";
import { createScratchDatabase } from "./scratch";

export interface TestDatabase {
  /** What the Worker's DATABASE_URL should be: the bridge. */
  url: string;
  bridgePort: number;
  backend: "pglite" | "postgres";
  /** The backend itself: the Postgres URL of the fresh database, or the PGlite data dir. */
  target: string;
  close(): Promise<void>;
}

export async function startTestDatabase(log: (line: string) => void = () => {}): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const scratch = await createScratchDatabase(serverUrl);
    const bridge = await startBridge({ port: 0, databaseUrl: scratch.url, log });
    return {
      url: bridge.url,
      bridgePort: bridge.port,
      backend: "postgres",
      target: scratch.url,
      async close() {
        await bridge.close();
        await scratch.drop();
      },
    };
  }
  const dataDir = await mkdtemp(join(tmpdir(), "tessera-pglite-"));
  const bridge = await startBridge({ port: 0, dataDir, log });
  return {
    url: bridge.url,
    bridgePort: bridge.port,
    backend: "pglite",
    target: dataDir,
    async close() {
      await bridge.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
