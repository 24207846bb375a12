// V8 flags reach workerd through the config message Miniflare sends it (dev/lib/workerd-v8-flags.ts).
import { Miniflare, Runtime } from "miniflare";
import { afterEach, describe, expect, it } from "vitest";
import { setWorkerdV8Flags, withV8Flags, workerdV8FlagsFromEnv } from "../../dev/lib/workerd-v8-flags";

const SCRIPT = `export default { fetch() { return new Response(typeof gc) } }`;

async function typeofGc(): Promise<string> {
  const mf = new Miniflare({ modules: true, script: SCRIPT, compatibilityDate: "2025-01-01" });
  try {
    return await (await mf.dispatchFetch("http://localhost/")).text();
  } finally {
    await mf.dispose();
  }
}

describe("workerd V8 flags", () => {
  afterEach(() => setWorkerdV8Flags(Runtime, []));

  it("are applied to the next workerd, and none means Miniflare's config as it was", async () => {
    setWorkerdV8Flags(Runtime, ["--expose-gc", "--optimize-for-size"]);
    expect(await typeofGc()).toBe("function");
    setWorkerdV8Flags(Runtime, []);
    expect(await typeofGc()).toBe("undefined");
  });

  it("refuses a message whose v8Flags is already set, rather than dropping flags", () => {
    // A root struct with 1 data word and 6 pointers, v8Flags (pointer 2) not null.
    const words = new BigUint64Array(1 + 1 + 6);
    words[0] = (6n << 48n) | (1n << 32n); // struct pointer, offset 0
    words[2 + 2] = 1n; // anything non-null
    const body = new Uint8Array(words.buffer);
    const message = new Uint8Array(8 + body.length);
    new DataView(message.buffer).setUint32(4, words.length, true);
    message.set(body, 8);
    expect(() => withV8Flags(message, ["--expose-gc"])).toThrow(/already set/);
    words[2 + 2] = 0n;
    message.set(new Uint8Array(words.buffer), 8);
    expect(withV8Flags(message, ["--expose-gc"]).length).toBeGreaterThan(message.length);
  });

  it("come from WORKERD_V8_FLAGS, split on spaces; empty means none, unset the default", () => {
    expect(workerdV8FlagsFromEnv(["--a"], undefined)).toEqual(["--a"]);
    expect(workerdV8FlagsFromEnv(["--a"], "")).toEqual([]);
    expect(workerdV8FlagsFromEnv(["--a"], " --b  --c=1 ")).toEqual(["--b", "--c=1"]);
  });
});
