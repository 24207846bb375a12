// Webhook endpoints per service credential (docs/notifications.md): a credential with notifications.publish registers
// endpoints of its own, which receive the notifications it raises (signed, verified by the local Standard Webhooks
// receiver), and nothing anyone else raises; users and other credentials can neither list nor remove them.
import { beforeAll, describe, expect, inject, it } from "vitest";
import { api, createAdmin, json, registerUser, type Tokens } from "./support";

const RECEIVER = inject("webhookReceiverUrl");
let admin: Tokens;
beforeAll(async () => {
  admin = await createAdmin();
}, 60_000);

interface ReceiverLog {
  attempts: number;
  badSignatures: number;
  accepted: { id: string; payload: { type: string; data: { eventId: string; source: string; title: string } } }[];
}

let counter = 0;
const eventId = () => `cred-${Date.now().toString(36)}-${++counter}`;

async function issue(scopes: string[]) {
  const res = await api("POST", "/v1/admin/service-credentials", {
    token: admin.accessToken,
    body: { name: `hooks${++counter}`, scopes },
  });
  expect(res.status).toBe(201);
  return json<{ id: string; secret: string }>(res);
}

async function receiverLog(name: string): Promise<ReceiverLog> {
  return (await fetch(`${RECEIVER}/log/${name}`)).json() as Promise<ReceiverLog>;
}

/** An endpoint of `token`'s owner at receiver `name`, which then checks signatures with the endpoint's secret. */
async function hookUp(path: string, token: string, name: string, kinds?: string[]) {
  const res = await api("POST", path, {
    token,
    body: { url: `${RECEIVER}/hook/${name}`, ...(kinds ? { kinds } : {}) },
  });
  expect(res.status).toBe(201);
  const endpoint = await json<{ id: string; secret: string }>(res);
  const configured = await fetch(`${RECEIVER}/config/${name}`, {
    method: "POST",
    body: JSON.stringify({ secret: endpoint.secret }),
  });
  expect(configured.status).toBe(204);
  return endpoint;
}

const notify = (token: string, userId: string, extra: Record<string, unknown> = {}) =>
  api("POST", "/v1/notifications", { token, body: { id: eventId(), userId, title: "Hello", ...extra } });

describe("a service credential's own webhooks", () => {
  it("are for a credential with notifications.publish only", async () => {
    const user = await registerUser();
    const hubOnly = await issue(["hub.publish"]);
    const body = { url: `${RECEIVER}/hook/nobody` };
    // A credential without the scope: 403. A user's token, even an admin's, is not a credential: 401.
    const expected: [string | undefined, number][] = [
      [hubOnly.secret, 403],
      [user.accessToken, 401],
      [admin.accessToken, 401],
      [undefined, 401],
    ];
    for (const [token, status] of expected) {
      expect((await api("POST", "/v1/notifications/service-webhooks", { token, body })).status).toBe(status);
      expect((await api("GET", "/v1/notifications/service-webhooks", { token })).status).toBe(status);
      expect((await api("DELETE", `/v1/notifications/service-webhooks/whep_${"0".repeat(32)}`, { token })).status).toBe(
        status,
      );
    }
    // And a credential cannot use a user's endpoint routes.
    const publisher = await issue(["notifications.publish"]);
    expect((await api("POST", "/v1/notifications/webhooks", { token: publisher.secret, body })).status).toBe(401);
  });

  it("receive, signed and once, the notifications the credential raised, and nothing raised by others", async () => {
    const [alice, bob] = [await registerUser(), await registerUser()];
    const mine = await issue(["notifications.publish"]);
    const other = await issue(["notifications.publish"]);
    const name = `svc-${mine.id}`;
    const endpoint = await hookUp("/v1/notifications/service-webhooks", mine.secret, name);
    // Alice turned webhooks off for the kind: that is about her endpoints, not the service's.
    const off = await api("PUT", "/v1/notifications/preferences", {
      token: alice.accessToken,
      body: { preferences: [{ kind: "service.message", inbox: true, live: true, webhook: false, muted: false }] },
    });
    expect(off.status).toBe(200);
    const id = eventId();
    expect((await notify(mine.secret, alice.user.id, { id, title: "For Alice" })).status).toBe(201);
    expect((await notify(mine.secret, bob.user.id, { kind: "search.finished", title: "For Bob" })).status).toBe(201);
    expect((await notify(other.secret, alice.user.id, { title: "Not mine" })).status).toBe(201);
    expect((await notify(admin.accessToken, alice.user.id, { title: "Admin's" })).status).toBe(201);
    await expect
      .poll(async () => (await receiverLog(name)).accepted.length, { timeout: 20_000, interval: 250 })
      .toBe(2);
    // The service retries one of its events: nothing is sent again.
    expect((await notify(mine.secret, alice.user.id, { id, title: "For Alice" })).status).toBe(200);
    const log = await receiverLog(name);
    expect(log.badSignatures).toBe(0);
    expect(log.accepted.map((a) => a.payload.data.title).sort()).toEqual(["For Alice", "For Bob"]);
    expect(log.accepted.every((a) => a.payload.data.source === mine.id)).toBe(true);
    const deliveries = await json<{ deliveries: { endpointId: string; credentialId: string; userId: null }[] }>(
      await api("GET", `/v1/admin/webhook-deliveries?credentialId=${mine.id}`, { token: admin.accessToken }),
    );
    expect(deliveries.deliveries).toHaveLength(2);
    expect(deliveries.deliveries[0]).toMatchObject({ endpointId: endpoint.id, credentialId: mine.id, userId: null });
  });

  it("respect the endpoint's kinds, and are listed and removed by their credential only", async () => {
    const user = await registerUser();
    const mine = await issue(["notifications.publish"]);
    const other = await issue(["notifications.publish"]);
    const name = `svckinds-${mine.id}`;
    const endpoint = await hookUp("/v1/notifications/service-webhooks", mine.secret, name, ["search.finished"]);
    await notify(mine.secret, user.user.id, { title: "Not this kind" });
    await notify(mine.secret, user.user.id, { kind: "search.finished", title: "This kind" });
    await expect
      .poll(async () => (await receiverLog(name)).accepted.length, { timeout: 20_000, interval: 250 })
      .toBe(1);
    expect((await receiverLog(name)).accepted[0]?.payload.data.title).toBe("This kind");

    const listed = await json<{ webhooks: { id: string }[] }>(
      await api("GET", "/v1/notifications/service-webhooks", { token: mine.secret }),
    );
    expect(listed.webhooks.map((w) => w.id)).toEqual([endpoint.id]);
    expect(JSON.stringify(listed)).not.toContain("whsec_");
    const othersList = await json<{ webhooks: unknown[] }>(
      await api("GET", "/v1/notifications/service-webhooks", { token: other.secret }),
    );
    expect(othersList.webhooks).toEqual([]);
    const path = `/v1/notifications/service-webhooks/${endpoint.id}`;
    expect((await api("DELETE", path, { token: other.secret })).status).toBe(404);
    expect((await api("DELETE", `/v1/notifications/webhooks/${endpoint.id}`, { token: user.accessToken })).status).toBe(
      404,
    );
    expect((await api("DELETE", path, { token: mine.secret })).status).toBe(204);
    expect((await api("DELETE", path, { token: mine.secret })).status).toBe(404);
  });

  it("refuse a private or malformed URL as a user's endpoint would", async () => {
    const mine = await issue(["notifications.publish"]);
    const bad = await api("POST", "/v1/notifications/service-webhooks", {
      token: mine.secret,
      body: { url: "ftp://example.com/hook" },
    });
    expect(bad.status).toBe(400);
  });
});
