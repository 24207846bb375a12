// A hub room evicted and woken again: in the isolated project (tests/workers/vitest.config.ts), since evicting resets
// every object in the runtime and would cut the sockets of hub tests running beside it.
import { abortAllDurableObjects } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { HubFrame } from "../../src/lib/hub/frames";
import { publishToRoom, roomStub } from "../../src/lib/hub/rooms";
import { keptFrames } from "./support";

describe("hub room eviction", () => {
  it("keeps history, sequence numbers and its name when the object is evicted and woken again", async () => {
    const room = `public:evict${crypto.randomUUID().slice(0, 8)}`;
    await publishToRoom(env, room, { data: "before" });
    await publishToRoom(env, room, { data: "before too" });
    await abortAllDurableObjects();
    expect((await publishToRoom(env, room, { data: "after" })).seq).toBe(3);
    const history = (await keptFrames(room)).map((text) => JSON.parse(text) as HubFrame);
    expect(history.map((f) => [f.room, f.data])).toEqual([
      [room, "before"],
      [room, "before too"],
      [room, "after"],
    ]);
    expect(await roomStub(env, room).stats()).toMatchObject({ room, lastSeq: 3 });
  });
});
