// One real suite (bridge + `wrangler dev`) for the end-to-end files, on free ports with its own state.
import type { TestProject } from "vitest/node";
import { generateKeyPairSecrets } from "../../src/lib/identity/keys";
import { randomToken } from "../../src/lib/identity/tokens";
import { WORKER_SECRET_PREFIX } from "../../src/lib/jobs/protocol";
import { startSuite } from "../support/client";
import { startOpenAiUpstream, testLlmRoutes } from "../support/openai-upstream";
import { createScratch } from "../support/scratch";
import { startTestUpstream, testGatewayRoutes } from "../support/upstream";

declare module "vitest" {
  export interface ProvidedContext {
    workerUrl: string;
    bridgeUrl: string;
    /** The Worker's DATABASE_URL (the bridge with its secret), for tests that write the database directly. */
    databaseUrl: string;
    bootstrapToken: string;
    upstreamUrl: string;
    /** The credential the Worker accepts as GPU_WORKER_BOOTSTRAP_SECRET, for tests that start a GPU worker. */
    gpuWorkerSecret: string;
  }
}

const BOOTSTRAP_TOKEN = `e2e-${crypto.randomUUID()}`;

export default async function setup(project: TestProject) {
  const scratch = await createScratch("tessera-e2e");
  const upstream = await startTestUpstream();
  const llmUpstream = await startOpenAiUpstream();
  const lines: string[] = [];
  const gpuWorkerSecret = randomToken(WORKER_SECRET_PREFIX);
  try {
    const suite = await startSuite(
      scratch,
      {
        ...(await generateKeyPairSecrets("ES256")),
        ADMIN_BOOTSTRAP_TOKEN: BOOTSTRAP_TOKEN,
        GATEWAY_ROUTES: testGatewayRoutes(upstream),
        GATEWAY_MAX_BODY_BYTES: String(1024 * 1024),
        GATEWAY_BREAKER_OPEN_MS: "1000",
        // Every e2e request comes from 127.0.0.1, and a local runtime keys every per-address limit by that peer
        // (a client's CF-Connecting-IP is ignored there): the per-address limits would throttle the whole suite.
        RATE_LIMIT_IP_PER_MINUTE: "100000",
        AUTH_RATE_LIMIT_SCALE: "1000",
        RATE_LIMIT_USER_PER_MINUTE: "300",
        // Short leases, so the lease-expiry scenario takes seconds; {url} input from the local test upstream.
        JOBS_LEASE_MS: "4000",
        JOBS_INPUT_URL_ALLOW_PRIVATE: "true",
        GPU_WORKER_BOOTSTRAP_SECRET: gpuWorkerSecret,
        // The LLM router over a local OpenAI-protocol server (tests/support/openai-upstream.ts).
        LLM_ROUTES: testLlmRoutes(llmUpstream.url, upstream.deadUrl),
      },
      (line) => lines.push(line),
    );
    project.provide("workerUrl", suite.workerUrl);
    project.provide("bridgeUrl", suite.bridgeUrl);
    project.provide("databaseUrl", suite.databaseUrl);
    project.provide("bootstrapToken", BOOTSTRAP_TOKEN);
    project.provide("upstreamUrl", upstream.url);
    project.provide("gpuWorkerSecret", gpuWorkerSecret);
    return async () => {
      await suite.stop();
      await upstream.close();
      await llmUpstream.close();
      await scratch.cleanup();
    };
  } catch (err) {
    console.error(lines.slice(-40).join("\n"));
    await upstream.close();
    await llmUpstream.close();
    await scratch.cleanup();
    throw err;
  }
}
