import { beforeAll, describe, expect, inject, it } from "vitest";
import { userRoom } from "../../src/lib/hub/rooms";
import type { JobLease } from "../../src/lib/jobs/protocol";
import { backoffSeconds } from "../../src/lib/notifications/webhooks";
import { newWorker } from "./gpu-worker";
import { api, createAdmin, freshIp, json, keptFrames, registerUser, send, type Tokens } from "./support";

interface View {
  id: string;
  eventId: string;
  source: string;
  kind: string;
  title: string;
  read: boolean;
}
interface Page {
  notifications: View[];
  nextCursor: string | null;
  unread: number;
  total: number;
}
interface Delivery {
  id: string;
  notificationId: string;
  status: string;
  attempts: number;
}
interface ReceiverLog {
  attempts: number;
  badSignatures: number;
  accepted: { id: string; payload: { type: string; data: View } }[];
}

const RECEIVER = inject("webhookReceiverUrl");
let admin: Tokens;

// Generous: on a loaded machine the first sign-in (a password hash) can take seconds.
beforeAll(async () => {
  admin = await createAdmin();
}, 60_000);

let eventCounter = 0;
const eventId = () => `evt-${Date.now().toString(36)}-${++eventCounter}`;

function post(userId: string, extra: Record<string, unknown> = {}, token = admin.accessToken) {
  return api("POST", "/v1/notifications", { token, body: { id: eventId(), userId, title: "Hello", ...extra } });
}

async function inbox(user: Tokens, query = ""): Promise<Page> {
  const res = await api("GET", `/v1/notifications${query}`, { token: user.accessToken });
  expect(res.status).toBe(200);
  return json<Page>(res);
}

async function receiverLog(name: string): Promise<ReceiverLog> {
  return (await fetch(`${RECEIVER}/log/${name}`)).json() as Promise<ReceiverLog>;
}

/** A receiver `name` and a webhook endpoint of `user` pointing at it, configured with the endpoint's secret. */
async function hookUp(user: Tokens, name: string, behaviour: { failFirst?: number; alwaysFail?: boolean }) {
  const res = await api("POST", "/v1/notifications/webhooks", {
    token: user.accessToken,
    body: { url: `${RECEIVER}/hook/${name}` },
  });
  expect(res.status).toBe(201);
  const endpoint = await json<{ id: string; secret: string }>(res);
  expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
  await configure(name, endpoint.secret, behaviour);
  return endpoint;
}

async function configure(name: string, secret: string, behaviour: { failFirst?: number; alwaysFail?: boolean }) {
  const res = await fetch(`${RECEIVER}/config/${name}`, {
    method: "POST",
    body: JSON.stringify({ secret, ...behaviour }),
  });
  expect(res.status).toBe(204);
}

async function deliveriesOf(userId: string, status?: string): Promise<Delivery[]> {
  const query = `?userId=${userId}${status ? `&status=${status}` : ""}`;
  const res = await api("GET", `/v1/admin/webhook-deliveries${query}`, { token: admin.accessToken });
  expect(res.status).toBe(200);
  return (await json<{ deliveries: Delivery[] }>(res)).deliveries;
}

describe("inbox", () => {
  it("an admin's post lands once per event id, with unread counts, paging, read/unread, delete and all read", async () => {
    const user = await registerUser();
    const first = await post(user.user.id, { id: "same-event-1", title: "First" });
    expect(first.status).toBe(201);
    const again = await post(user.user.id, { id: "same-event-1", title: "First, retried" });
    expect(again.status).toBe(200);
    for (const title of ["Second", "Third"]) expect((await post(user.user.id, { title })).status).toBe(201);

    const all = await inbox(user);
    expect(all.total).toBe(3);
    expect(all.unread).toBe(3);
    expect(all.notifications.map((n) => n.title)).toEqual(["Third", "Second", "First"]);
    expect(all.notifications[2]).toMatchObject({ eventId: "same-event-1", source: "admin", kind: "service.message" });

    const page1 = await inbox(user, "?limit=2");
    expect(page1.notifications.map((n) => n.title)).toEqual(["Third", "Second"]);
    const page2 = await inbox(user, `?limit=2&cursor=${page1.nextCursor}`);
    expect(page2.notifications.map((n) => n.title)).toEqual(["First"]);
    expect(page2.nextCursor).toBeNull();

    const [third, second] = all.notifications;
    const read = await api("PATCH", `/v1/notifications/${third?.id}`, {
      token: user.accessToken,
      body: { read: true },
    });
    expect(await json<View>(read)).toMatchObject({ read: true });
    expect((await inbox(user)).unread).toBe(2);
    expect((await inbox(user, "?unread=true")).notifications.map((n) => n.title)).toEqual(["Second", "First"]);
    await api("PATCH", `/v1/notifications/${third?.id}`, { token: user.accessToken, body: { read: false } });
    expect((await inbox(user)).unread).toBe(3);

    expect((await api("DELETE", `/v1/notifications/${second?.id}`, { token: user.accessToken })).status).toBe(204);
    expect((await inbox(user)).total).toBe(2);
    const readAll = await api("POST", "/v1/notifications/read-all", { token: user.accessToken });
    expect(await json(readAll)).toEqual({ updated: 2 });
    expect(await inbox(user)).toMatchObject({ unread: 0, total: 2 });
  });

  it("another user's entry is 404; bad input is 400 in the one error shape; an unknown user is 404", async () => {
    const [owner, other] = await Promise.all([registerUser(), registerUser()]);
    await post(owner.user.id);
    const [entry] = (await inbox(owner)).notifications;
    const stolen = await api("PATCH", `/v1/notifications/${entry?.id}`, {
      token: other.accessToken,
      body: { read: true },
    });
    expect(stolen.status).toBe(404);
    expect((await api("DELETE", `/v1/notifications/${entry?.id}`, { token: other.accessToken })).status).toBe(404);

    const noTitle = await api("POST", "/v1/notifications", {
      token: admin.accessToken,
      body: { id: eventId(), userId: owner.user.id },
    });
    expect(noTitle.status).toBe(400);
    const body = await json<{ error: { code: string; issues: { path: string[] }[] } }>(noTitle);
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.issues.map((i) => i.path.join("."))).toContain("body.title");
    expect((await post(owner.user.id, { kind: "no.such.kind" })).status).toBe(400);
    expect((await post(owner.user.id, { id: "has spaces" })).status).toBe(400);
    expect((await post(crypto.randomUUID())).status).toBe(404);
  });

  it("a user may not post; a credential needs notifications.publish and is the entry's source", async () => {
    const target = await registerUser();
    expect((await post(target.user.id, {}, target.accessToken)).status).toBe(403);
    const issue = async (scopes: string[]) =>
      json<{ id: string; secret: string }>(
        await api("POST", "/v1/admin/service-credentials", { token: admin.accessToken, body: { name: "n", scopes } }),
      );
    const hubOnly = await issue(["hub.publish"]);
    expect((await post(target.user.id, {}, hubOnly.secret)).status).toBe(403);
    const publisher = await issue(["notifications.publish"]);
    const res = await post(target.user.id, { kind: "search.finished", title: "Search done" }, publisher.secret);
    expect(res.status).toBe(201);
    const [entry] = (await inbox(target)).notifications;
    expect(entry).toMatchObject({ source: publisher.id, kind: "search.finished" });
  });
});

describe("preferences", () => {
  it("inbox off keeps it out of the inbox, mute drops it, a kind's own row beats '*'; live follows its switch", async () => {
    const user = await registerUser();
    const put = await api("PUT", "/v1/notifications/preferences", {
      token: user.accessToken,
      body: {
        preferences: [
          { kind: "*", inbox: true, live: false, webhook: true, muted: false },
          { kind: "search.finished", inbox: false, live: true, webhook: true, muted: false },
          { kind: "budget.nearly_spent", inbox: true, live: true, webhook: true, muted: true },
        ],
      },
    });
    expect(put.status).toBe(200);
    expect((await json<{ preferences: unknown[] }>(put)).preferences).toHaveLength(3);

    const hidden = await post(user.user.id, { kind: "search.finished", title: "Not in the inbox" });
    expect(hidden.status).toBe(201);
    expect(await json(hidden)).toEqual({ notification: null });
    await post(user.user.id, { kind: "budget.nearly_spent", title: "Muted" });
    await post(user.user.id, { kind: "service.message", title: "Shown" });
    expect((await inbox(user)).notifications.map((n) => n.title)).toEqual(["Shown"]);

    // Live: only the kind whose row turns it on reached the user's hub room.
    const history = (await keptFrames(userRoom(user.user.id))).map(
      (text) => JSON.parse(text) as { data: { event: string; notification: View } },
    );
    const live = history.filter((f) => f.data.event === "notification").map((f) => f.data.notification.title);
    expect(live).toEqual(["Not in the inbox"]);

    const bad = await api("PUT", "/v1/notifications/preferences", {
      token: user.accessToken,
      body: { preferences: [{ kind: "nope", inbox: true, live: true, webhook: true, muted: false }] },
    });
    expect(bad.status).toBe(400);
  });

  it("a PUT answers every preference as it now is: the kinds it changed, and the others unchanged", async () => {
    const user = await registerUser();
    const set = (preferences: unknown[]) =>
      api("PUT", "/v1/notifications/preferences", { token: user.accessToken, body: { preferences } });
    await set([
      { kind: "*", inbox: true, live: true, webhook: true, muted: false },
      { kind: "search.finished", inbox: true, live: true, webhook: true, muted: false },
    ]);
    const changed = await set([{ kind: "search.finished", inbox: false, live: true, webhook: false, muted: true }]);
    expect(await json(changed)).toEqual({
      preferences: [
        { kind: "*", inbox: true, live: true, webhook: true, muted: false },
        { kind: "search.finished", inbox: false, live: true, webhook: false, muted: true },
      ],
    });
  });

  it("webhook off sends no webhook for that kind", async () => {
    const user = await registerUser();
    await hookUp(user, `prefs-${user.user.id}`, {});
    await api("PUT", "/v1/notifications/preferences", {
      token: user.accessToken,
      body: { preferences: [{ kind: "service.message", inbox: true, live: true, webhook: false, muted: false }] },
    });
    await post(user.user.id, { title: "No webhook" });
    await post(user.user.id, { kind: "search.finished", title: "With webhook" });
    await expect.poll(async () => (await deliveriesOf(user.user.id, "delivered")).length, { timeout: 15_000 }).toBe(1);
    const log = await receiverLog(`prefs-${user.user.id}`);
    expect(log.accepted.map((a) => a.payload.data.title)).toEqual(["With webhook"]);
    expect(await deliveriesOf(user.user.id)).toHaveLength(1);
  });
});

describe("webhooks", () => {
  it("a receiver failing the first 2 tries gets the event exactly once, signed, and the inbox holds it once", async () => {
    const user = await registerUser();
    const name = `flaky-${user.user.id}`;
    await hookUp(user, name, { failFirst: 2 });
    const id = eventId();
    expect((await post(user.user.id, { id, title: "Retried" })).status).toBe(201);
    await expect
      .poll(async () => (await receiverLog(name)).accepted.length, { timeout: 20_000, interval: 250 })
      .toBe(1);
    // The producer retries its event: no second entry, no second delivery.
    expect((await post(user.user.id, { id, title: "Retried" })).status).toBe(200);
    const log = await receiverLog(name);
    expect(log).toMatchObject({ attempts: 3, badSignatures: 0 });
    const [accepted] = log.accepted;
    expect(accepted?.payload).toMatchObject({ type: "service.message", data: { eventId: id, title: "Retried" } });
    expect(accepted?.id).toMatch(/^msg_/);
    const deliveries = await deliveriesOf(user.user.id);
    expect(deliveries).toEqual([expect.objectContaining({ id: accepted?.id, status: "delivered", attempts: 3 })]);
    expect((await inbox(user)).notifications.filter((n) => n.eventId === id)).toHaveLength(1);
  });

  it("a receiver that always fails ends dead; an admin retry then delivers it", async () => {
    const user = await registerUser();
    const name = `down-${user.user.id}`;
    const endpoint = await hookUp(user, name, { alwaysFail: true });
    await post(user.user.id, { title: "Eventually" });
    await expect.poll(async () => (await deliveriesOf(user.user.id, "dead")).length, { timeout: 20_000 }).toBe(1);
    const [dead] = await deliveriesOf(user.user.id, "dead");
    expect(dead?.attempts).toBe(3);
    expect((await receiverLog(name)).accepted).toHaveLength(0);

    const notAdmin = await api("POST", `/v1/admin/webhook-deliveries/${dead?.id}/retry`, { token: user.accessToken });
    expect(notAdmin.status).toBe(403);
    await configure(name, endpoint.secret, {});
    const retry = await api("POST", `/v1/admin/webhook-deliveries/${dead?.id}/retry`, { token: admin.accessToken });
    expect(retry.status).toBe(202);
    await expect.poll(async () => (await receiverLog(name)).accepted.length, { timeout: 15_000 }).toBe(1);
    expect((await receiverLog(name)).accepted[0]?.id).toBe(dead?.id);
    await expect.poll(async () => (await deliveriesOf(user.user.id, "delivered")).length).toBe(1);
    // Only a dead delivery can be retried.
    const twice = await api("POST", `/v1/admin/webhook-deliveries/${dead?.id}/retry`, { token: admin.accessToken });
    expect(twice.status).toBe(409);
  });

  it("refuses a URL that is not http(s), caps the endpoints, lists and removes them", async () => {
    const user = await registerUser();
    const bad = await api("POST", "/v1/notifications/webhooks", {
      token: user.accessToken,
      body: { url: "ftp://example.com/hook" },
    });
    expect(bad.status).toBe(400);
    const withCredentials = await api("POST", "/v1/notifications/webhooks", {
      token: user.accessToken,
      body: { url: "https://user:pw@example.com/hook" },
    });
    expect(withCredentials.status).toBe(400);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await api("POST", "/v1/notifications/webhooks", {
        token: user.accessToken,
        body: { url: `https://example.com/hook/${i}` },
      });
      expect(res.status).toBe(201);
      ids.push((await json<{ id: string }>(res)).id);
    }
    const over = await api("POST", "/v1/notifications/webhooks", {
      token: user.accessToken,
      body: { url: "https://example.com/hook/11" },
    });
    expect(over.status).toBe(409);
    const listed = await json<{ webhooks: { id: string }[] }>(
      await api("GET", "/v1/notifications/webhooks", { token: user.accessToken }),
    );
    expect(listed.webhooks.map((w) => w.id)).toEqual(ids);
    expect(JSON.stringify(listed)).not.toContain("whsec_");
    expect((await api("DELETE", `/v1/notifications/webhooks/${ids[0]}`, { token: user.accessToken })).status).toBe(204);
    expect((await api("DELETE", `/v1/notifications/webhooks/${ids[0]}`, { token: user.accessToken })).status).toBe(404);
  });

  it("backs off exponentially, capped at an hour", () => {
    expect([1, 2, 3, 4].map((a) => backoffSeconds(a, 10))).toEqual([10, 20, 40, 80]);
    expect(backoffSeconds(20, 10)).toBe(3600);
  });
});

describe("platform events", () => {
  it("a completed job notifies its owner in the inbox, and its latency reaches the owner's summary", async () => {
    const owner = await registerUser();
    const res = await api("POST", "/v1/jobs", {
      token: owner.accessToken,
      body: { type: "speech", input: { text: "notify me" }, options: { voice: "alloy" } },
    });
    expect(res.status).toBe(202);
    const job = await json<{ id: string }>(res);
    const worker = await newWorker(admin.accessToken, "notify-test");
    const lease: JobLease = await worker.leaseJob(job.id);
    const done = await worker.call("POST", `/v1/gpu/jobs/${job.id}/complete`, {
      leaseId: lease.leaseId,
      result: { ok: true },
    });
    expect(done.status).toBe(200);
    await expect
      .poll(async () => (await inbox(owner)).notifications.map((n) => n.kind), { timeout: 10_000 })
      .toEqual(["job.completed"]);
    type Jobs = { jobs: { type: string; completed: number; dead: number; p50Ms: number }[] };
    const jobs = async () =>
      (await json<Jobs>(await api("GET", "/v1/analytics/summary", { token: owner.accessToken }))).jobs;
    await expect
      .poll(jobs, { timeout: 10_000 })
      .toEqual([expect.objectContaining({ type: "speech", completed: 1, dead: 0 })]);
    expect((await jobs())[0]?.p50Ms).toBeGreaterThanOrEqual(0);
  });

  it("a sign-in from an address the account has not used notifies once; a known address does not", async () => {
    const user = await registerUser();
    const login = (ip: string) =>
      api("POST", "/v1/auth/login", { ip, body: { username: user.user.username, password: user.password } });
    const home = freshIp();
    expect((await login(home)).status).toBe(200);
    const away = freshIp();
    expect((await login(away)).status).toBe(200);
    expect((await login(away)).status).toBe(200);
    expect((await login(home)).status).toBe(200);
    const kinds = async () => (await inbox(user)).notifications.filter((n) => n.kind === "login.new_address");
    // Registration's address (a fresh one) and home are both new to the account once; away once.
    await expect.poll(async () => (await kinds()).length, { timeout: 10_000 }).toBe(2);
  });

  it("a file indexed through the queue notifies its owner once", async () => {
    const user = await registerUser();
    // Past FILES_INLINE_INDEX_MAX_BYTES (64 KiB in these tests), so it is indexed by the queue, not the request.
    const big = "notify me when searchable ".repeat(3000);
    const res = await send("PUT", `/v1/files/by-path?path=${encodeURIComponent("notes/big.txt")}`, {
      token: user.accessToken,
      body: big,
    });
    expect(res.status).toBe(201);
    const file = await json<{ id: string; index: { status: string } }>(res);
    expect(file.index.status).toBe("queued");
    await expect
      .poll(async () => (await inbox(user)).notifications.map((n) => [n.kind, n.title]), { timeout: 15_000 })
      .toEqual([["file.indexed", "big.txt is indexed"]]);
  });
});
