// The admin console (docs/admin.md) in headless Chromium against the real suite: an admin signs in through the form,
// every panel loads from the public API, a chart is drawn from the request metrics this test caused and the events
// it sent, a dead-lettered job is retried from its button and the page shows it complete, and the browser reports no
// CSP violation under the console's strict policy. Screenshots go to a scratch folder, or to docs/admin/ with
// ADMIN_SCREENSHOTS=docs (how the ones in docs/admin.md were made).
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { JobLease } from "../../src/lib/jobs/protocol";
import { chromium, launchChromium } from "./chromium";
import { Client } from "./hub-client";
import { deleteAdmin, signUp, signUpAdmin, type User } from "./users";

const base = inject("workerUrl");
const shots =
  process.env.ADMIN_SCREENSHOTS === "docs"
    ? join(import.meta.dirname, "../../docs/admin")
    : mkdtempSync(join(tmpdir(), "tessera-admin-shots-"));
mkdirSync(shots, { recursive: true });

type Body = Record<string, unknown>;
/** The few DOM members the page callbacks use: this project's Node programs have no DOM lib. */
interface DomNode {
  textContent: string | null;
  hidden?: boolean;
  offsetHeight: number;
  children: { length: number };
  getAttribute(name: string): string | null;
  querySelector(selector: string): (DomNode & Canvas) | null;
}
interface Canvas {
  width: number;
  height: number;
  getContext(
    kind: "2d",
  ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
interface Dom {
  document: {
    addEventListener(type: string, f: (e: { violatedDirective: string; blockedURI: string }) => void): void;
    querySelector(selector: string): DomNode | null;
  };
  reportViolation(v: string): void;
}
const text = (page: Page, selector: string) => page.$eval(selector, (e) => (e as unknown as DomNode).textContent ?? "");
async function call(
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; body: Body }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Body };
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

let browser: Browser;
let admin: User & { username: string; password: string };
let user: User;
let hubClient: Client | undefined;
let workerSecret: string;
let jobId: string;

/** The scripted GPU worker's calls (the protocol of docs/jobs.md), for the one job type this test uses. */
const worker = {
  lease: async (): Promise<JobLease[]> => {
    const res = await call("POST", "/v1/gpu/lease", workerSecret, {
      freeVramMiB: 80_000,
      types: ["speech"],
      max: 8,
      waitMs: 3000,
    });
    expect(res.status).toBe(200);
    return res.body.jobs as JobLease[];
  },
  /** Leases until `id` comes up; anything else it is handed (left by an earlier file) fails for good. */
  leaseJob: async (id: string): Promise<JobLease> => {
    for (let i = 0; i < 20; i++) {
      const jobs = await worker.lease();
      const mine = jobs.find((j) => j.jobId === id);
      for (const j of jobs.filter((j) => j !== mine)) {
        await call("POST", `/v1/gpu/jobs/${j.jobId}/fail`, workerSecret, {
          leaseId: j.leaseId,
          error: "other",
          retryable: false,
        });
      }
      if (mine) return mine;
    }
    throw new Error(`job ${id} was never leased`);
  },
};

beforeAll(async () => {
  if (!chromium) return;
  [admin, user] = await Promise.all([signUpAdmin("consoleadmin"), signUp("consoleuser")]);
  const issued = await call("POST", "/v1/admin/gpu-workers", admin.token, { name: "console-e2e" });
  expect(issued.status).toBe(201);
  workerSecret = issued.body.secret as string;

  // A dead letter: a speech job that fails all three attempts.
  const submitted = await call("POST", "/v1/jobs", user.token, { type: "speech", input: { text: "console retry" } });
  expect(submitted.status).toBe(202);
  jobId = submitted.body.id as string;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const lease = await worker.leaseJob(jobId);
    const failed = await call("POST", `/v1/gpu/jobs/${jobId}/fail`, workerSecret, {
      leaseId: lease.leaseId,
      error: `CUDA out of memory (attempt ${attempt})`,
      retryable: true,
    });
    expect(failed.body.status).toBe(attempt < 3 ? "queued" : "dead");
  }

  // Real events and real traffic for the chart; someone in a hub room for the room list.
  const events = Array.from({ length: 30 }, (_, i) => ({ name: "console.demo", value: i, props: { i } }));
  expect((await call("POST", "/v1/events", user.token, { events })).status).toBe(202);
  hubClient = await Client.open(base, "public:lobby", user.token);
  const from = new Date(Date.now() - 3_600_000).toISOString();
  await until(
    () => call("GET", `/v1/analytics/summary?bucket=minute&from=${encodeURIComponent(from)}`, admin.token),
    (s) => {
      const summary = s.body as { requests?: { total: number }; events?: { name: string; count: number }[] };
      return (summary.requests?.total ?? 0) > 0 && summary.events?.some((e) => e.name === "console.demo") === true;
    },
    "request metrics and events in the summary (flushed every METRICS_FLUSH_MS per isolate)",
  );
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  hubClient?.ws.close();
  await browser?.close();
  if (admin) await deleteAdmin(admin);
});

/** A page of the console that records every CSP violation the browser reports. */
async function consolePage(): Promise<{ page: Page; violations: string[]; csp: string }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 900 });
  const violations: string[] = [];
  await page.exposeFunction("reportViolation", (v: string) => violations.push(v));
  await page.evaluateOnNewDocument(() => {
    const dom = globalThis as unknown as Dom;
    dom.document.addEventListener("securitypolicyviolation", (e) => {
      dom.reportViolation(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page.on("console", (msg) => {
    if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  const res = await page.goto(`${base}/admin`, { waitUntil: "networkidle0" });
  return { page, violations, csp: res?.headers()["content-security-policy"] ?? "" };
}

const PANELS = ["charts", "health", "hub", "gpu", "users"];

describe.skipIf(!chromium)("the admin console in headless Chromium", () => {
  it("signs in an admin, shows every panel, draws a chart, retries a dead job to completion, with no CSP violation", async () => {
    const { page, violations, csp } = await consolePage();
    try {
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe");
      await page.screenshot({ path: join(shots, "login.png") });

      // A non-admin is told so and stays on the form.
      await page.type("#login input[name=username]", admin.username);
      await page.type("#login input[name=password]", admin.password);
      await page.click("#login button[type=submit]");
      await page.waitForSelector("#console-view:not([hidden])", { timeout: 30_000 });
      expect(await page.$eval("#login-view", (e) => (e as unknown as DomNode).offsetHeight)).toBe(0);
      for (const panel of PANELS) {
        await page.waitForSelector(`#panel-${panel}[data-loaded="true"]`, { timeout: 30_000 });
      }
      expect(await text(page, "#banner")).toBe("");

      // The chart: uPlot's canvas, with pixels drawn, from a summary that counted requests.
      const chart = await page.$eval("#chart-requests", (element) => {
        const box = element as unknown as DomNode;
        const canvas = box.querySelector("canvas");
        if (!canvas) return null;
        const ctx = canvas.getContext("2d");
        const data = ctx?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray();
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) painted++;
        return {
          painted,
          points: Number(box.getAttribute("data-points")),
          requests: Number(box.getAttribute("data-requests")),
        };
      });
      expect(chart).not.toBeNull();
      expect(chart?.requests).toBeGreaterThan(0);
      expect(chart?.points).toBeGreaterThan(0);
      expect(chart?.painted).toBeGreaterThan(100);
      expect(await text(page, "#events-table")).toContain("console.demo");

      // Every panel shows what the API holds.
      expect(await text(page, "#users-table")).toContain(admin.username);
      expect(await text(page, "#workers-table")).toContain("console-e2e");
      expect(await text(page, "#rooms-table")).toContain("public:lobby");
      expect(await text(page, "#health-table")).toContain("database");
      const providerCells = await page.$eval(
        "#providers-table tbody tr",
        (t) => (t as unknown as DomNode).children.length,
      );
      expect(providerCells).toBeGreaterThan(1);

      // A user's sessions, listed from the button.
      await page.click(`#users-table tr[data-id="${admin.id}"] button`);
      await page.waitForSelector("#sessions:not([hidden]) #sessions-table tbody tr td .pill");
      expect(await text(page, "#sessions-table")).toContain("live");
      await page.screenshot({ path: join(shots, "console.png"), fullPage: true });

      // The dead letter, retried from its button; the worker then runs it; the page watches it complete.
      const row = `#dead-jobs-table tr[data-id="${jobId}"]`;
      await page.waitForSelector(`${row} button`);
      expect(await text(page, row)).toContain("dead");
      await page.click(`${row} button`);
      await until(
        () => call("GET", "/v1/admin/jobs?status=queued&order=newest", admin.token),
        (r) => (r.body.jobs as { id: string }[]).some((j) => j.id === jobId),
        "the retried job queued",
      );
      const lease = await worker.leaseJob(jobId);
      const done = await call("POST", `/v1/gpu/jobs/${jobId}/complete`, workerSecret, {
        leaseId: lease.leaseId,
        result: { audio: "retried from the console" },
      });
      expect(done.status).toBe(200);
      await page.waitForFunction(
        (id) =>
          (globalThis as unknown as Dom).document
            .querySelector(`#jobs-table tr[data-id="${id}"]`)
            ?.textContent?.includes("completed"),
        { timeout: 30_000, polling: 250 },
        jobId,
      );
      expect(await page.$(`#dead-jobs-table tr[data-id="${jobId}"]`)).toBeNull();
      const gpuPanel = await page.$("#panel-gpu");
      await gpuPanel?.screenshot({ path: join(shots, "jobs-retried.png") });

      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("refuses a signed-in user who is not an admin", async () => {
    const name = `consolenobody${Date.now().toString(36)}`;
    const res = await fetch(`${base}/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": "192.0.2.77" },
      body: JSON.stringify({ username: name, email: `${name}@example.com`, password: "console password 1" }),
    });
    expect(res.status).toBe(201);
    const { page, violations } = await consolePage();
    try {
      await page.type("#login input[name=username]", name);
      await page.type("#login input[name=password]", "console password 1");
      await page.click("#login button[type=submit]");
      await page.waitForFunction(() =>
        (globalThis as unknown as Dom).document.querySelector("#login-error")?.textContent?.includes("not an admin"),
      );
      expect(await page.$eval("#console-view", (e) => (e as unknown as DomNode).hidden)).toBe(true);
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
