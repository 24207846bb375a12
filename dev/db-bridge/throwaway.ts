// A bridge on storage that is thrown away afterwards, for tests and benchmarks: PGlite in a temp
// dir, or a fresh database on a Postgres server (so runs never see each other's rows).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { neonConfig } from "@neondatabase/serverless";
import pg from "pg";
import type { BackendKind } from "./backend";
import { type Bridge, type BridgeOptions, startBridge } from "./server";

export interface ThrowawayBridge {
  bridge: Bridge;
  backend: BackendKind;
  /** Where the data lives: the PGlite data dir, or the fresh database's URL. */
  target: string;
  /** A bridge on the same data (after closing this one): for restart tests. */
  restart(opts?: Omit<BridgeOptions, "dataDir" | "databaseUrl">): Promise<Bridge>;
  /** Closes the bridge (if still open) and removes the data. */
  dispose(): Promise<void>;
}

/** A uniquely named database on `serverUrl`'s server; `drop()` removes it even with clients connected. */
export async function createScratchDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tessera_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export async function startThrowawayBridge(
  backend: BackendKind,
  opts: Omit<BridgeOptions, "dataDir" | "databaseUrl"> & { serverUrl?: string } = {},
): Promise<ThrowawayBridge> {
  const { serverUrl, ...bridgeOpts } = opts;
  let target: string;
  let removeData: () => Promise<void>;
  let storage: Pick<BridgeOptions, "dataDir" | "databaseUrl">;
  if (backend === "postgres") {
    const server = serverUrl ?? process.env.DATABASE_URL;
    if (!server) throw new Error("a postgres throwaway bridge needs serverUrl or DATABASE_URL");
    const scratch = await createScratchDatabase(server);
    target = scratch.url;
    removeData = scratch.drop;
    storage = { databaseUrl: scratch.url };
  } else {
    const dir = await mkdtemp(join(tmpdir(), "db-bridge-test-"));
    target = join(dir, "pglite");
    removeData = () => rm(dir, { recursive: true, force: true });
    storage = { dataDir: target };
  }
  const open = new Set<Bridge>();
  const start = async (o: Omit<BridgeOptions, "dataDir" | "databaseUrl">) => {
    const bridge = await startBridge({ ...o, ...storage, port: o.port ?? 0 });
    open.add(bridge);
    return bridge;
  };
  let bridge: Bridge;
  try {
    bridge = await start(bridgeOpts);
  } catch (error) {
    await removeData();
    throw error;
  }
  return {
    bridge,
    backend,
    target,
    restart: (o = bridgeOpts) => start(o),
    async dispose() {
      for (const b of open) await b.close();
      await removeData();
    },
  };
}

/** Points @neondatabase/serverless at a bridge the way the Worker does (src/lib/db/client.ts), for Node callers. */
export function configureNeonForBridge(): void {
  neonConfig.fetchEndpoint = (host, port) => `http://${host}:${port}/sql`;
}
