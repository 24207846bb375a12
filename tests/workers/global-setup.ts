// Starts the database bridge once for the whole Workers-pool run and hands its URL to the Worker.
import { createServer as createHttpServer } from "node:http";
import { createServer, type Socket } from "node:net";
import type { TestProject } from "vitest/node";
import { startThrowawayBridge } from "../../dev/db-bridge/throwaway";
import { freePort } from "../../dev/lib/processes";
import { generateKeyPairSecrets } from "../../src/lib/identity/keys";
import { startOpenAiUpstream, testLlmRoutes } from "../support/openai-upstream";
import { startScorerServer } from "../support/scorer-server";
import { startWebhookReceiver } from "../support/webhook-receiver";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseBackend: string;
    jwtPrivateKey: string;
    jwtPublicKeys: string;
    /** A database URL whose server accepts connections and never answers (a frozen database). */
    frozenDatabaseUrl: string;
    /** A DNS-over-HTTPS (JSON) resolver double: rebind.example → 127.0.0.1, public.example → 192.0.2.0/24 (TEST-NET). */
    resolverUrl: string;
    scorerUrl: string;
    /** LLM_ROUTES over the OpenAI-protocol test upstream (tests/support/openai-upstream.ts). */
    llmRoutes: string;
    llmUpstreamUrl: string;
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
  // The JSON API of DNS over HTTPS (as Cloudflare's and Google's resolvers answer it), for a few names.
  const zone: Record<string, { A: string[]; AAAA: string[] }> = {
    "rebind.example": { A: ["93.184.216.34"], AAAA: ["::1"] },
    "public.example": { A: ["93.184.216.34"], AAAA: [] },
  };
  const queries = new Map<string, number>();
  const resolver = createHttpServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://resolver");
    const name = (url.searchParams.get("name") ?? "").replace(/\.$/, "");
    // How many questions a name has had: tests see that a request went through the guard's lookup.
    if (url.pathname === "/control/queries") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ count: queries.get(name) ?? 0 }));
      return;
    }
    queries.set(name, (queries.get(name) ?? 0) + 1);
    const type = url.searchParams.get("type") === "AAAA" ? "AAAA" : "A";
    const records = zone[name]?.[type] ?? [];
    res.writeHead(200, { "content-type": "application/dns-json" });
    res.end(
      JSON.stringify({
        Status: zone[name] ? 0 : 3,
        Answer: records.map((data) => ({ name, type: type === "A" ? 1 : 28, TTL: 60, data })),
      }),
    );
  });
  await new Promise<void>((resolve) => resolver.listen(0, "127.0.0.1", resolve));
  const resolverAddress = resolver.address();
  const resolverPort = typeof resolverAddress === "object" && resolverAddress ? resolverAddress.port : 0;
  project.provide("resolverUrl", `http://127.0.0.1:${resolverPort}/dns-query`);
  // A webhook scorer on loopback for the search scorer tests (docs/orchestration.md).
  const scorer = await startScorerServer();
  project.provide("scorerUrl", scorer.url);
  const llm = await startOpenAiUpstream();
  project.provide("llmRoutes", testLlmRoutes(llm.url, `http://127.0.0.1:${await freePort()}`));
  project.provide("llmUpstreamUrl", llm.url);
  // A webhook receiver that checks signatures (tests/workers/notifications.test.ts).
  const receiver = await startWebhookReceiver();
  project.provide("webhookReceiverUrl", receiver.url);
  return async () => {
    resolver.close();
    for (const socket of held) socket.destroy();
    frozen.close();
    await scorer.close();
    await llm.close();
    await receiver.close();
    await database.dispose();
  };
}
