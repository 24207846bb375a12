// Analytics through the Worker's own fetch: POST /v1/events under concurrency, the summary (a user's slice and an
// admin's whole), request metrics, and /metrics in the Prometheus text format.
import { beforeAll, describe, expect, it } from "vitest";
import { api, createAdmin, json, registerUser, type Tokens } from "./support";

interface Summary {
  scope: string;
  requests: { total: number; errors: number; errorRate: number };
  series: { t: string; requests: number; errors: number }[];
  routes: { method: string; route: string; requests: number; errorRate: number; p50Ms: number; p95Ms: number }[];
  activeUsers: number;
  jobs: { type: string; completed: number; dead: number }[];
  events: { name: string; count: number; sum: number | null }[];
  llmTokens: unknown[];
}

let admin: Tokens;
// Generous: on a loaded machine the first sign-in (a password hash) can take seconds.
beforeAll(async () => {
  admin = await createAdmin();
}, 60_000);

async function summary(token: string, query = ""): Promise<Summary> {
  const res = await api(
    "GET",
    `/v1/analytics/summary?bucket=minute&from=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}${query}`,
    { token },
  );
  expect(res.status).toBe(200);
  return json<Summary>(res);
}

const eventCount = (s: Summary, name: string) => s.events.find((e) => e.name === name);

describe("POST /v1/events", () => {
  it("counts exactly what was sent by concurrent batches, per user", async () => {
    const [alice, bob] = await Promise.all([registerUser(), registerUser()]);
    const name = `clicked.${Date.now().toString(36)}`;
    const batches = 12;
    const perBatch = 25;
    const sends = Array.from({ length: batches }, (_, b) =>
      api("POST", "/v1/events", {
        token: b % 3 === 0 ? bob.accessToken : alice.accessToken,
        body: { events: Array.from({ length: perBatch }, (_, i) => ({ name, value: 2, props: { i, b } })) },
      }),
    );
    const answers = await Promise.all(sends);
    for (const res of answers) expect(await json(res)).toEqual({ accepted: perBatch });
    const bobBatches = Math.ceil(batches / 3);
    await expect
      .poll(async () => eventCount(await summary(admin.accessToken), name)?.count, { timeout: 15_000, interval: 250 })
      .toBe(batches * perBatch);
    expect(eventCount(await summary(admin.accessToken), name)?.sum).toBe(batches * perBatch * 2);
    // A user sees only their own slice; bob may not read alice's.
    expect(eventCount(await summary(alice.accessToken), name)?.count).toBe((batches - bobBatches) * perBatch);
    expect(eventCount(await summary(bob.accessToken), name)?.count).toBe(bobBatches * perBatch);
    const peek = await api("GET", `/v1/analytics/summary?userId=${alice.user.id}`, { token: bob.accessToken });
    expect(peek.status).toBe(403);
    const adminSlice = await summary(admin.accessToken, `&userId=${bob.user.id}`);
    expect(adminSlice.scope).toBe("user");
    expect(eventCount(adminSlice, name)?.count).toBe(bobBatches * perBatch);
  });

  it("refuses malformed batches and the platform's own names with 400", async () => {
    const user = await registerUser();
    const send = (body: unknown) => api("POST", "/v1/events", { token: user.accessToken, body });
    expect((await send({ events: [] })).status).toBe(400);
    expect((await send({ events: [{ name: "Bad Name" }] })).status).toBe(400);
    expect((await send({ events: [{ name: "tessera.job.completed", value: 1 }] })).status).toBe(400);
    expect((await send({ events: Array.from({ length: 101 }, () => ({ name: "x" })) })).status).toBe(400);
    expect((await send({ events: [{ name: "x", props: { nested: { no: 1 } } }] })).status).toBe(400);
    const old = await send({ events: [{ name: "x" }, { name: "x", at: "2020-01-01T00:00:00Z" }] });
    expect(old.status).toBe(400);
    const body = await json<{ error: { issues: { path: (string | number)[] }[] } }>(old);
    expect(body.error.issues[0]?.path).toEqual(["body", "events", 1, "at"]);
    expect((await api("POST", "/v1/events", { body: { events: [{ name: "x" }] } })).status).toBe(401);
  });

  it("a credential with events.write sends events of its own; without the scope it is refused", async () => {
    const issue = async (scopes: string[]) =>
      json<{ id: string; secret: string }>(
        await api("POST", "/v1/admin/service-credentials", { token: admin.accessToken, body: { name: "a", scopes } }),
      );
    const writer = await issue(["events.write"]);
    const other = await issue(["hub.publish"]);
    const name = `svc.${Date.now().toString(36)}`;
    const ok = await api("POST", "/v1/events", { token: writer.secret, body: { events: [{ name }, { name }] } });
    expect(ok.status).toBe(202);
    const refused = await api("POST", "/v1/events", { token: other.secret, body: { events: [{ name }] } });
    expect(refused.status).toBe(403);
    await expect
      .poll(async () => eventCount(await summary(admin.accessToken), name)?.count, { timeout: 15_000, interval: 250 })
      .toBe(2);
  });
});

describe("request metrics", () => {
  it("records every request with its route and status; the summary gives counts, error rate and percentiles", async () => {
    const user = await registerUser();
    const calls = 15;
    await Promise.all(
      Array.from({ length: calls }, () => api("GET", "/v1/notifications", { token: user.accessToken })),
    );
    // Two 404s on a route that exists (not found is not a server error: errorRate stays 0).
    for (let i = 0; i < 2; i++) {
      await api("PATCH", `/v1/notifications/${crypto.randomUUID()}`, { token: user.accessToken, body: { read: true } });
    }
    const route = (s: Summary, method: string, path: string) =>
      s.routes.find((r) => r.method === method && r.route === path);
    await expect
      .poll(async () => route(await summary(user.accessToken), "GET", "/v1/notifications")?.requests, {
        timeout: 15_000,
        interval: 250,
      })
      .toBe(calls);
    const mine = await summary(user.accessToken);
    const listed = route(mine, "GET", "/v1/notifications");
    expect(listed?.errorRate).toBe(0);
    expect(listed?.p50Ms).toBeGreaterThanOrEqual(0);
    expect(listed?.p95Ms).toBeGreaterThanOrEqual(listed?.p50Ms ?? 0);
    expect(route(mine, "PATCH", "/v1/notifications/:id")?.requests).toBe(2);
    expect(mine.activeUsers).toBe(1);
    expect(mine.series.reduce((n, b) => n + b.requests, 0)).toBe(mine.requests.total);
  });

  it("answers 400 for a window that is backwards or has too many buckets", async () => {
    const backwards = await api("GET", "/v1/analytics/summary?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", {
      token: admin.accessToken,
    });
    expect(backwards.status).toBe(400);
    const tooMany = await api(
      "GET",
      "/v1/analytics/summary?bucket=minute&from=2026-01-01T00:00:00Z&to=2026-01-31T00:00:00Z",
      { token: admin.accessToken },
    );
    expect(tooMany.status).toBe(400);
    expect((await api("GET", "/v1/analytics/summary?bucket=week", { token: admin.accessToken })).status).toBe(400);
  });
});

describe("GET /metrics", () => {
  it("serves Prometheus text to admins and metrics.read credentials only", async () => {
    const res = await api("GET", "/metrics", { token: admin.accessToken });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await res.text();
    expect(text).toContain("# TYPE tessera_http_requests_total counter");
    expect(text).toMatch(/^tessera_http_requests_total\{method="GET",route="[^"]+",status="\d{3}"\} \d+$/m);
    expect(text).toMatch(/^tessera_notifications_total \d+$/m);

    const issue = async (scopes: string[]) =>
      json<{ secret: string }>(
        await api("POST", "/v1/admin/service-credentials", { token: admin.accessToken, body: { name: "m", scopes } }),
      );
    expect((await api("GET", "/metrics", { token: (await issue(["metrics.read"])).secret })).status).toBe(200);
    expect((await api("GET", "/metrics", { token: (await issue(["events.write"])).secret })).status).toBe(403);
    const user = await registerUser();
    expect((await api("GET", "/metrics", { token: user.accessToken })).status).toBe(403);
    expect((await api("GET", "/metrics")).status).toBe(401);
  });
});
