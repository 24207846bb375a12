// A deleted user's access token is still correctly signed and unexpired, but it speaks for no one: every route checks
// the live session, so it writes nothing anywhere (KV, the job board, R2 and Postgres) and never reaches a foreign
// key that would fail as a 500 (docs/security.md "Live sessions").
import { beforeAll, describe, expect, it } from "vitest";
import { api, createAdmin, json, registerUser, send, type Tokens, uniqueName } from "./support";

interface ErrorJson {
  error: { code: string };
}

async function expectRefused(res: Response): Promise<void> {
  expect(res.status).toBe(401);
  expect((await json<ErrorJson>(res)).error.code).toBe("unauthorized");
}

describe("a deleted user's unexpired token", () => {
  let gone: Tokens;
  beforeAll(async () => {
    const admin = await createAdmin();
    gone = await registerUser();
    // It works while the user exists…
    expect((await api("GET", "/v1/memories/search?q=x", { token: gone.accessToken })).status).toBe(200);
    expect((await api("DELETE", `/v1/users/${gone.user.id}`, { token: admin.accessToken })).status).toBe(204);
  }, 60_000);

  it("writes no key-value entry", async () => {
    const res = await send("PUT", `/v1/memory/${uniqueName("ns")}/k`, {
      token: gone.accessToken,
      body: "value",
      headers: { "Content-Type": "text/plain" },
    });
    await expectRefused(res);
  });

  it("queues no job", async () => {
    const body = { type: "speech", input: { text: "hello" }, options: { voice: "alloy" } };
    await expectRefused(await api("POST", "/v1/jobs", { token: gone.accessToken, body }));
  });

  it("stores no file", async () => {
    const form = new FormData();
    form.set("file", new File(["hello"], "a.txt", { type: "text/plain" }));
    await expectRefused(await send("POST", "/v1/files", { token: gone.accessToken, body: form }));
  });

  it("stores no memory", async () => {
    const body = { type: "fact", content: "left behind" };
    await expectRefused(await api("POST", "/v1/memories", { token: gone.accessToken, body }));
  });

  it("reads nothing either", async () => {
    await expectRefused(await api("GET", "/v1/memories/search?q=x", { token: gone.accessToken }));
    await expectRefused(await api("GET", "/v1/jobs", { token: gone.accessToken }));
  });
});
