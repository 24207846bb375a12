// Service credentials: issued by admins (secret once, hash kept), scoped, revocable, and never taken for a
// user's token (nor a user's token for a credential).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ServiceCredentials } from "../../durable-objects/service-credentials";
import { serviceCredentials } from "../../src/lib/identity/service-credentials";
import { sha256Hex } from "../../src/lib/identity/tokens";
import { api, createAdmin, json, keptFrames, registerUser } from "./support";

interface Issued {
  id: string;
  name: string;
  scopes: string[];
  secret: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const publish = (room: string, token: string, data: unknown = { kind: "notice" }) =>
  api("POST", `/v1/hub/rooms/${room}/messages`, { token, body: { data } });

describe("service credentials", () => {
  it("are issued by admins only, shown once, listed without the secret, and publish to user:<id>", async () => {
    const admin = await createAdmin();
    const user = await registerUser();
    const denied = await api("POST", "/v1/admin/service-credentials", {
      token: user.accessToken,
      body: { name: "jobs", scopes: ["hub.publish"] },
    });
    expect(denied.status).toBe(403);
    expect(
      (
        await api("POST", "/v1/admin/service-credentials", {
          token: admin.accessToken,
          body: { name: "x", scopes: [] },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await api("POST", "/v1/admin/service-credentials", {
          token: admin.accessToken,
          body: { name: "x", scopes: ["everything"] },
        })
      ).status,
    ).toBe(400);

    const res = await api("POST", "/v1/admin/service-credentials", {
      token: admin.accessToken,
      body: { name: "jobs", scopes: ["hub.publish"] },
    });
    expect(res.status).toBe(201);
    const issued = await json<Issued>(res);
    expect(issued).toMatchObject({ name: "jobs", scopes: ["hub.publish"], revokedAt: null, lastUsedAt: null });
    expect(issued.secret).toMatch(/^tsc_[A-Za-z0-9_-]{43}$/);

    const channel = `user:${user.user.id}`;
    const sent = await publish(channel, issued.secret, { kind: "job.done" });
    expect(sent.status).toBe(202);
    const { seq } = await json<{ seq: number }>(sent);
    const kept = (await keptFrames(channel, seq - 1)).map((t) => JSON.parse(t));
    expect(kept).toEqual([expect.objectContaining({ type: "event", room: channel, seq, data: { kind: "job.done" } })]);

    const list = await json<{ credentials: Record<string, unknown>[] }>(
      await api("GET", "/v1/admin/service-credentials", { token: admin.accessToken }),
    );
    const listed = list.credentials.find((c) => c.id === issued.id);
    expect(listed).toMatchObject({ name: "jobs", scopes: ["hub.publish"], revokedAt: null });
    expect(listed?.lastUsedAt).toEqual(expect.any(String));
    expect(JSON.stringify(list)).not.toContain(issued.secret);
    // Only the hash is stored.
    await runInDurableObject(serviceCredentials(env), async (_obj: ServiceCredentials, state) => {
      const rows = state.storage.sql.exec<{ secret_hash: string }>("SELECT secret_hash FROM credentials").toArray();
      expect(rows.map((r) => r.secret_hash)).toContain(await sha256Hex(issued.secret));
      expect(JSON.stringify(rows)).not.toContain(issued.secret);
    });
  });

  it("is refused with 401 once revoked; revoking twice or an unknown id is 404", async () => {
    const admin = await createAdmin();
    const issued = await json<Issued>(
      await api("POST", "/v1/admin/service-credentials", {
        token: admin.accessToken,
        body: { name: "notifier", scopes: ["hub.publish"] },
      }),
    );
    expect((await publish("public:status", issued.secret)).status).toBe(202);
    const revoked = await api("DELETE", `/v1/admin/service-credentials/${issued.id}`, { token: admin.accessToken });
    expect(revoked.status).toBe(204);
    const after = await publish("public:status", issued.secret);
    expect(after.status).toBe(401);
    expect((await json<{ error: { code: string } }>(after)).error.code).toBe("unauthorized");
    expect(
      (await api("DELETE", `/v1/admin/service-credentials/${issued.id}`, { token: admin.accessToken })).status,
    ).toBe(404);
    const list = await json<{ credentials: Issued[] }>(
      await api("GET", "/v1/admin/service-credentials", { token: admin.accessToken }),
    );
    expect(list.credentials.find((c) => c.id === issued.id)?.revokedAt).toEqual(expect.any(String));
  });

  it("is never taken for a user, a user's token never for it, and a missing scope is 403", async () => {
    const admin = await createAdmin();
    const user = await registerUser();
    const issued = await json<Issued>(
      await api("POST", "/v1/admin/service-credentials", {
        token: admin.accessToken,
        body: { name: "svc", scopes: ["hub.publish"] },
      }),
    );
    // Where a user is expected, the credential is no token at all.
    expect((await api("GET", "/v1/hub/rooms/public:x", { token: issued.secret })).status).toBe(401);
    expect((await api("POST", "/v1/hub/tickets", { token: issued.secret })).status).toBe(401);
    expect((await api("GET", "/v1/admin/service-credentials", { token: issued.secret })).status).toBe(401);
    // Where a credential (or an admin) is expected, a plain user is refused, and a made-up credential is 401.
    expect((await publish("public:x", user.accessToken)).status).toBe(403);
    expect((await publish("public:x", "tsc_made-up")).status).toBe(401);
    // A credential without the route's scope.
    const secret = "tsc_no-scope-0123456789";
    await serviceCredentials(env).add("svc_noscope", "no scope", [], await sha256Hex(secret));
    const noScope = await publish("public:x", secret);
    expect(noScope.status).toBe(403);
    expect((await json<{ error: { code: string } }>(noScope)).error.code).toBe("forbidden");
  });
});
