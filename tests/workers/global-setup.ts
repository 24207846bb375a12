// Starts the database bridge once for the whole Workers-pool run and hands its URL to the Worker.
import { createServer, type Socket } from "node:net";
import type { TestProject } from "vitest/node";
import { startThrowawayBridge } from "../../dev/db-bridge/throwaway";
import { generateKeyPairSecrets } from "../../src/lib/identity/keys";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseBackend: string;
    jwtPrivateKey: string;
    jwtPublicKeys: string;
    /** A database URL whose server accepts connections and never answers (a frozen database). */
    frozenDatabaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  // A fresh database for this run: a scratch database on DATABASE_URL's server when set, else PGlite in a temp dir.
  const database = await startThrowawayBridge(process.env.DATABASE_URL ? "postgres" : "pglite");
  project.provide("databaseUrl", database.bridge.url);
  project.provide("databaseBackend", database.backend);
  // Throwaway keys for this run only.
  const keys = await generateKeyPairSecrets("ES256");
  project.provide("jwtPrivateKey", keys.JWT_PRIVATE_KEY);
  project.provide("jwtPublicKeys", keys.JWT_PUBLIC_KEYS);
  // A frozen database: connections are accepted and held, nothing is ever answered.
  const held = new Set<Socket>();
  const frozen = createServer((socket) => {
    held.add(socket);
    socket.on("close", () => held.delete(socket));
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => frozen.listen(0, "127.0.0.1", resolve));
  const address = frozen.address();
  const frozenPort = typeof address === "object" && address ? address.port : 0;
  project.provide("frozenDatabaseUrl", `postgres://tessera:frozen@127.0.0.1:${frozenPort}/tessera`);
  return async () => {
    for (const socket of held) socket.destroy();
    frozen.close();
    await database.dispose();
  };
}
