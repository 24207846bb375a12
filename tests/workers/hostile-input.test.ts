// Input that Postgres or a recursive validator cannot take (a NUL character, JSON nested thousands deep) is refused
// with 400 by the one validation layer (src/lib/platform/validate.ts) on every route, never a 500 (docs/security.md).
import { beforeAll, describe, expect, it } from "vitest";
import { api, json, registerUser, send, type Tokens, uniqueName } from "./support";

interface ErrorJson {
  error: { code: string; issues?: { path: (string | number)[]; code: string }[] };
}

/** JSON text nested `depth` objects deep: {"a":{"a":…{}…}}. */
function nested(depth: number): string {
  return `${'{"a":'.repeat(depth)}{}${"}".repeat(depth)}`;
}

async function expectRefused(res: Response, code: string): Promise<void> {
  expect(res.status).toBe(400);
  const body = await json<ErrorJson>(res);
  expect(body.error.code).toBe("invalid_request");
  expect(body.error.issues?.map((i) => i.code)).toContain(code);
}

describe("a NUL character", () => {
  let user: Tokens;
  beforeAll(async () => {
    user = await registerUser();
  }, 60_000);

  it("in a username at registration → 400", async () => {
    const name = uniqueName("nul");
    const res = await api("POST", "/v1/auth/register", {
      body: { username: `${name}\u0000x`, email: `${name}@example.com`, password: "correct horse battery" },
    });
    await expectRefused(res, "invalid_character");
  });

  it("in a username at login → 400", async () => {
    const res = await api("POST", "/v1/auth/login", { body: { username: "a\u0000b", password: "whatever it is" } });
    await expectRefused(res, "invalid_character");
  });

  it("in a memory's content, a metadata value or a metadata key → 400", async () => {
    for (const body of [
      { type: "fact", content: "before\u0000after" },
      { type: "fact", content: "fine", metadata: { note: "x\u0000y" } },
      { type: "fact", content: "fine", metadata: { "k\u0000": 1 } },
    ]) {
      await expectRefused(await api("POST", "/v1/memories", { token: user.accessToken, body }), "invalid_character");
    }
  });

  it("in search text (memories and files) → 400", async () => {
    for (const path of ["/v1/memories/search?q=a%00b", "/v1/files/search?q=a%00b"]) {
      await expectRefused(await send("GET", path, { token: user.accessToken }), "invalid_character");
    }
  });

  it("in a file's description → 400", async () => {
    const form = new FormData();
    form.set("file", new File(["hello"], "a.txt", { type: "text/plain" }));
    form.set("description", "one\u0000two");
    await expectRefused(await send("POST", "/v1/files", { token: user.accessToken, body: form }), "invalid_character");
  });

  it("in the caller's own metadata → 400", async () => {
    const res = await api("PATCH", "/v1/auth/me", { token: user.accessToken, body: { metadata: { a: "\u0000" } } });
    await expectRefused(res, "invalid_character");
  });
});

describe("JSON nested about 3,000 deep", () => {
  let user: Tokens;
  beforeAll(async () => {
    user = await registerUser();
  }, 60_000);

  const postRaw = (path: string, body: string, token?: string) =>
    send("POST", path, { token, body, headers: { "Content-Type": "application/json" } });

  it("as registration metadata → 400", async () => {
    const name = uniqueName("deep");
    const body = `{"username":"${name}","email":"${name}@example.com","password":"correct horse battery","metadata":${nested(3000)}}`;
    await expectRefused(await postRaw("/v1/auth/register", body), "too_deep");
  });

  it("as a memory's metadata → 400", async () => {
    const body = `{"type":"fact","content":"deep","metadata":${nested(3000)}}`;
    await expectRefused(await postRaw("/v1/memories", body, user.accessToken), "too_deep");
  });

  it("as a job's input → 400", async () => {
    const body = `{"type":"vision.ocr","input":${nested(3000)}}`;
    await expectRefused(await postRaw("/v1/jobs", body, user.accessToken), "too_deep");
  });

  it("as a whole body of arrays → 400", async () => {
    await expectRefused(
      await postRaw("/v1/memories", `${"[".repeat(3000)}${"]".repeat(3000)}`, user.accessToken),
      "too_deep",
    );
  });

  it("a body within the limit still reaches the schema", async () => {
    const res = await postRaw(
      "/v1/memories",
      `{"type":"fact","content":"shallow","metadata":${nested(10)}}`,
      user.accessToken,
    );
    expect(res.status).toBe(201);
  });
});
