// Starts the database bridge once for the whole Workers-pool run and hands its URL to the Worker.
import type { TestProject } from "vitest/node";
import { startThrowawayBridge } from "../../dev/db-bridge/throwaway";
import { generateKeyPairSecrets } from "../../src/lib/identity/keys";
import { startWebhookReceiver } from "../support/webhook-receiver";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseBackend: string;
    jwtPrivateKey: string;
    jwtPublicKeys: string;
    webhookReceiverUrl: string;
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
  // A webhook receiver that checks signatures (tests/workers/notifications.test.ts).
  const receiver = await startWebhookReceiver();
  project.provide("webhookReceiverUrl", receiver.url);
  return async () => {
    await receiver.close();
    await database.dispose();
  };
}
