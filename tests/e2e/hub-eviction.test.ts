// A room's history outlives its object: messages sent to a room on one `wrangler dev` are replayed with
// `?since=0` by another started afterwards on the same state directory. The whole runtime going away is
// eviction at its most thorough: nothing in memory survives, only the object's SQLite storage.
// Its own suite (not the shared one), so it can be stopped; tokens are signed here, so no user is needed.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../dev/lib/processes";
import { type DevSuite, startDevSuite } from "../../dev/lib/suite";
import type { Env } from "../../src/lib/env";
import { signAccessToken } from "../../src/lib/jwt";
import { generateKeyPairSecrets, type KeyPairSecrets } from "../../src/lib/keys";
import { createScratch, type Scratch } from "../support/scratch";
import { Client, chats, joinOf } from "./hub-client";

let scratch: Scratch;
let secrets: KeyPairSecrets;
const output: string[] = [];

beforeAll(async () => {
  scratch = await createScratch("tessera-e2e-evict");
  secrets = await generateKeyPairSecrets("ES256");
});

afterAll(async () => {
  await scratch?.cleanup();
});

/** A suite on the same state directories each time (new ports: the old ones may linger in TIME_WAIT). */
async function startSuite(): Promise<DevSuite> {
  try {
    return await startDevSuite({
      port: await freePort(),
      bridgePort: await freePort(),
      inspectorPort: await freePort(),
      pgliteDir: join(scratch.dir, "pglite"),
      databaseUrl: scratch.databaseUrl,
      persistDir: join(scratch.dir, "wrangler"),
      vars: { ...secrets, LOG_LEVEL: "warn" },
      write: (line) => output.push(line),
    });
  } catch (err) {
    console.error(output.slice(-40).join("\n"));
    throw err;
  }
}

describe("a room's history", () => {
  it("survives the runtime being stopped and started again: since=0 replays it, and seq goes on", async () => {
    const id = crypto.randomUUID();
    // Signing reads only the key and the issuer/audience/TTL vars; no binding is touched.
    const { token } = await signAccessToken({ ...secrets } as unknown as Env, {
      sub: id,
      username: "evicted",
      roles: ["user"],
      sid: id,
    });
    const room = "public:evict";

    const first = await startSuite();
    try {
      const a = await Client.open(first.workerUrl, room, token);
      await a.until(joinOf(id));
      for (const text of ["one", "two", "three"]) a.send({ type: "chat", data: { text } });
      await a.until((f) => f.seq === 3);
      await a.close();
    } finally {
      await first.stop();
    }

    const second = await startSuite();
    try {
      const b = await Client.open(second.workerUrl, room, token, "?since=0");
      await b.until(joinOf(id));
      b.send({ type: "chat", data: { text: "four" } });
      await b.until((f) => f.seq === 4);
      expect(chats(b).map((f) => [f.seq, (f.data as { text: string }).text, f.from?.id])).toEqual([
        [1, "one", id],
        [2, "two", id],
        [3, "three", id],
        [4, "four", id],
      ]);
      // The replay came before the join, the new message after it.
      const joinAt = b.frames.findIndex(joinOf(id));
      expect(b.frames.findIndex((f) => f.seq === 3)).toBeLessThan(joinAt);
      expect(b.frames.findIndex((f) => f.seq === 4)).toBeGreaterThan(joinAt);
      await b.close();
    } finally {
      await second.stop();
    }
  }, 240_000);
});
