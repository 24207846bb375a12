// A database outage is an outage, not a bug: 503 `unavailable` with Retry-After in the one error shape, whether
// the database refuses connections or accepts them and never answers; and a frozen database cannot hold a request
// past its timeout, because every database call has its own (src/lib/db/client.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { type ErrorJson, freshIp, registerUser } from "./support";

const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

function withDatabase(url: string) {
  return (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers);
    headers.set("CF-Connecting-IP", freshIp());
    if (init.token) headers.set("Authorization", `Bearer ${init.token}`);
    return worker.fetch(
      new Request(`https://tessera.test${path}`, { ...init, headers }),
      { ...env, DATABASE_URL: url },
      ctx,
    );
  };
}

async function expectUnavailable(res: Response): Promise<void> {
  const body = (await res.json()) as ErrorJson;
  expect(res.status, JSON.stringify(body)).toBe(503);
  expect(body.error.code).toBe("unavailable");
  expect(body.error.message).not.toMatch(/127\.0\.0\.1|postgres:|frozen/);
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
}

const login = { method: "POST", headers: { "content-type": "application/json" } };

describe("database outage", () => {
  it("answers 503 unavailable with Retry-After when the database refuses connections", async () => {
    const down = withDatabase("postgres://tessera:x@127.0.0.1:1/tessera");
    await expectUnavailable(
      await down("/v1/auth/login", {
        ...login,
        body: JSON.stringify({ username: "someone", password: "some password" }),
      }),
    );
    const user = await registerUser();
    await expectUnavailable(await down("/v1/auth/me", { token: user.accessToken }));
  });

  it("answers 503 when the database accepts connections and never answers, within the route timeout", async () => {
    const frozen = withDatabase((env as unknown as { TEST_FROZEN_DATABASE_URL: string }).TEST_FROZEN_DATABASE_URL);
    const user = await registerUser();
    // The session check runs before the handler: it must be bounded too. No timing is asserted; the test's own
    // timeout (below the 30 s route timeout plus slack) is what a hang would hit.
    await expectUnavailable(await frozen("/v1/auth/me", { token: user.accessToken }));
  }, 60_000);
});
