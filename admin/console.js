// The admin console (docs/admin.md): a page of the public API, called with the signed-in admin's token. It holds
// the tokens in sessionStorage (gone when the tab closes), renders every value as text (never as HTML), and runs
// under a CSP that allows scripts and styles from this origin only: no inline script, no eval.
/* global uPlot */

const STORE = "tessera.admin";
const $ = (id) => document.getElementById(id);

// ---- The API, with the token and one refresh on 401 ----

function saved() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) ?? "null");
  } catch {
    return null;
  }
}

function save(tokens) {
  if (tokens) sessionStorage.setItem(STORE, JSON.stringify(tokens));
  else sessionStorage.removeItem(STORE);
}

class ApiFailure extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
  }
}

async function refresh() {
  const tokens = saved();
  if (!tokens?.refreshToken) return false;
  const res = await fetch("/v1/auth/refresh", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refreshToken: tokens.refreshToken }),
  });
  if (!res.ok) return false;
  const body = await res.json();
  save({ ...tokens, accessToken: body.accessToken, refreshToken: body.refreshToken });
  return true;
}

async function api(method, path, body, retried = false) {
  const headers = { authorization: `Bearer ${saved()?.accessToken ?? ""}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && !retried && (await refresh())) return api(method, path, body, true);
  if (res.status === 401) {
    signOut("Your session ended; sign in again.");
    throw new ApiFailure(401, null);
  }
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok && !(res.status === 503 && path === "/health")) throw new ApiFailure(res.status, json);
  return json;
}

// ---- DOM helpers: text only ----

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "onclick") node.addEventListener("click", v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

/** Fills a table: `columns` are [header, (row) => cell, class?]; an empty list shows `empty`. */
function table(id, columns, rows, empty = "nothing here") {
  const t = $(id);
  t.replaceChildren(
    el("thead", {}, el("tr", {}, ...columns.map(([h, , cls]) => el("th", cls ? { class: cls } : {}, h)))),
  );
  const tbody = el("tbody");
  if (rows.length === 0)
    tbody.append(el("tr", {}, el("td", { class: "empty", colspan: String(columns.length) }, empty)));
  for (const row of rows) {
    tbody.append(
      el(
        "tr",
        { "data-id": row.id ?? row.room ?? row.target ?? "" },
        ...columns.map(([, f, cls]) => el("td", cls ? { class: cls } : {}, f(row) ?? "—")),
      ),
    );
  }
  t.append(tbody);
}

const pill = (text, tone) => el("span", { class: `pill ${tone}` }, text);
const ms = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 10) / 10} ms`);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const tone = (status) =>
  ({
    ok: "ok",
    completed: "ok",
    closed: "ok",
    delivered: "ok",
    live: "ok",
    running: "warn",
    queued: "warn",
    "half-open": "warn",
    degraded: "warn",
  })[status] ?? "bad";

function button(label, onclick, cls = "") {
  const b = el("button", { type: "button", class: cls }, label);
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await onclick();
    } catch (err) {
      showError(err);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

function showError(err) {
  $("banner").textContent = err instanceof Error ? err.message : String(err);
}

// ---- Panels ----

let chart;

async function loadCharts() {
  const to = new Date();
  const from = new Date(to.getTime() - 60 * 60 * 1000);
  const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), bucket: "minute" });
  const s = await api("GET", `/v1/analytics/summary?${q}`);
  $("charts-window").textContent = "last hour, per minute";
  $("charts-stats").replaceChildren(
    ...[
      [s.requests.total, "requests"],
      [`${(s.requests.errorRate * 100).toFixed(2)} %`, "errors (5xx)"],
      [s.activeUsers, "active users"],
      [s.jobs.reduce((n, j) => n + j.completed, 0), "jobs completed"],
      [s.events.reduce((n, e) => n + e.count, 0), "events"],
    ].map(([v, label]) => el("div", { class: "stat" }, el("b", {}, v), el("span", {}, label))),
  );
  // Every minute of the window, zero where nothing was recorded, so the chart always spans the whole hour.
  const seen = new Map(s.series.map((p) => [Date.parse(p.t), p]));
  const xs = [];
  const requests = [];
  const errors = [];
  for (let t = Math.floor(from.getTime() / 60_000) * 60_000; t < to.getTime(); t += 60_000) {
    xs.push(t / 1000);
    requests.push(seen.get(t)?.requests ?? 0);
    errors.push(seen.get(t)?.errors ?? 0);
  }
  const data = [xs, requests, errors];
  const box = $("chart-requests");
  const width = Math.max(300, box.clientWidth);
  if (chart) chart.destroy();
  chart = new uPlot(
    {
      width,
      height: 240,
      axes: [
        { stroke: "#8a94a6", grid: { stroke: "#1d2430" } },
        { stroke: "#8a94a6", grid: { stroke: "#1d2430" } },
      ],
      series: [
        {},
        { label: "requests", stroke: "#5b9cff", fill: "rgba(91,156,255,0.15)", width: 2, points: { show: false } },
        { label: "errors", stroke: "#ff6b6b", width: 2, points: { show: false } },
      ],
    },
    data,
    box,
  );
  box.dataset.points = String(s.series.length);
  box.dataset.requests = String(s.requests.total);
  table(
    "routes-table",
    [
      ["route", (r) => el("code", {}, `${r.method} ${r.route}`)],
      ["requests", (r) => r.requests, "num"],
      ["errors", (r) => `${(r.errorRate * 100).toFixed(1)} %`, "num"],
      ["p50", (r) => ms(r.p50Ms), "num"],
      ["p95", (r) => ms(r.p95Ms), "num"],
    ],
    s.routes.slice(0, 12),
  );
  table(
    "job-types-table",
    [
      ["type", (j) => j.type],
      ["completed", (j) => j.completed, "num"],
      ["dead", (j) => j.dead, "num"],
      ["p50", (j) => ms(j.p50Ms), "num"],
      ["p95", (j) => ms(j.p95Ms), "num"],
    ],
    s.jobs,
  );
  table(
    "events-table",
    [
      ["name", (e) => el("code", {}, e.name)],
      ["count", (e) => e.count, "num"],
      ["sum", (e) => e.sum, "num"],
    ],
    s.events.slice(0, 10),
  );
}

async function loadHealth() {
  const [health, services, providers] = await Promise.all([
    api("GET", "/health"),
    api("GET", "/v1/services"),
    api("GET", "/v1/llm/providers"),
  ]);
  const status = $("health-status");
  status.textContent = health.status;
  status.className = `pill ${tone(health.status)}`;
  table(
    "health-table",
    [
      ["check", (r) => r.id],
      ["status", (r) => pill(r.status, tone(r.status))],
      ["latency", (r) => ms(r.latencyMs), "num"],
    ],
    Object.entries(health.checks).map(([id, check]) => ({ id, ...check })),
  );
  table(
    "services-table",
    [
      ["prefix", (s) => el("code", {}, s.prefix)],
      ["target", (s) => s.name ?? s.upstream ?? s.kind],
      ["health", (s) => (s.health ? pill(s.health.healthy ? "up" : "down", s.health.healthy ? "ok" : "bad") : s.kind)],
      ["breaker", (s) => (s.breaker ? pill(s.breaker.state, tone(s.breaker.state)) : "—")],
    ],
    services.services.filter((s) => s.kind !== "local"),
    "every prefix is served locally",
  );
  $("providers-more").textContent = providers.targets.length > 10 ? `and ${providers.targets.length - 10} more` : "";
  table(
    "providers-table",
    [
      ["target", (t) => el("code", {}, t.target)],
      ["breaker", (t) => pill(t.state, tone(t.state))],
      ["requests", (t) => t.requests, "num"],
      ["p95", (t) => ms(t.latencyMs?.p95), "num"],
      ["last error", (t) => t.lastError ?? "—"],
    ],
    // Open and half-open breakers first; the busiest next. A long route table is cut to the first ten.
    providers.targets
      .toSorted((a, b) => (a.state === "closed") - (b.state === "closed") || b.requests - a.requests)
      .slice(0, 10),
    "no LLM routes configured",
  );
}

async function loadHub() {
  const { rooms } = await api("GET", "/v1/admin/hub/rooms");
  table(
    "rooms-table",
    [
      ["room", (r) => el("code", {}, r.room)],
      ["online", (r) => r.online, "num"],
      ["sockets", (r) => r.sockets, "num"],
      ["members", (r) => (r.owner ? r.members : "—"), "num"],
      ["messages", (r) => r.lastSeq, "num"],
    ],
    rooms,
    "no room has anyone online",
  );
}

/** The newest page of jobs (of one status, or all), newest first. */
async function newestJobs(status) {
  const q = new URLSearchParams({ order: "newest" });
  if (status) q.set("status", status);
  return (await api("GET", `/v1/admin/jobs?${q}`)).jobs;
}

const retried = new Set();
let watchTimer;

async function loadGpu() {
  const [{ workers }, jobs, dead, failed, { deliveries }] = await Promise.all([
    api("GET", "/v1/admin/gpu-workers"),
    newestJobs(),
    newestJobs("dead"),
    newestJobs("failed"),
    api("GET", "/v1/admin/webhook-deliveries?status=dead&limit=20"),
  ]);
  table(
    "workers-table",
    [
      ["worker", (w) => w.name],
      [
        "state",
        (w) => (w.revokedAt ? pill("revoked", "bad") : w.lastSeenAt ? pill("seen", "ok") : pill("never seen", "warn")),
      ],
      ["last seen", (w) => when(w.lastSeenAt)],
      ["free VRAM", (w) => (w.freeVramMiB === null ? "—" : `${w.freeVramMiB} MiB`), "num"],
      ["models", (w) => w.loadedModels.join(", ") || "—"],
      ["jobs", (w) => w.jobsInHand, "num"],
    ],
    workers,
    "no GPU worker",
  );
  const jobColumns = [
    ["job", (j) => el("code", {}, j.id)],
    ["type", (j) => j.type],
    ["status", (j) => pill(j.status, tone(j.status))],
    ["attempts", (j) => j.attempts, "num"],
    ["updated", (j) => when(j.updatedAt)],
  ];
  table(
    "dead-jobs-table",
    [
      ...jobColumns,
      ["error", (j) => j.error ?? "—"],
      [
        "",
        (j) =>
          button("Retry", async () => {
            await api("POST", `/v1/admin/jobs/${encodeURIComponent(j.id)}/retry`);
            retried.add(j.id);
            await loadGpu();
          }),
      ],
    ],
    [...dead, ...failed].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)),
    "no dead letters",
  );
  table("jobs-table", jobColumns, jobs.slice(0, 15), "no jobs yet");
  table(
    "dead-webhooks-table",
    [
      ["delivery", (d) => el("code", {}, d.id)],
      ["kind", (d) => d.kind],
      ["url", (d) => d.url],
      ["attempts", (d) => d.attempts, "num"],
      ["last", (d) => d.lastError ?? d.lastStatus ?? "—"],
      [
        "",
        (d) =>
          button("Retry", async () => {
            await api("POST", `/v1/admin/webhook-deliveries/${encodeURIComponent(d.id)}/retry`);
            await loadGpu();
          }),
      ],
    ],
    deliveries,
    "no dead deliveries",
  );
  // Watch retried jobs until each is final, so the operator sees the retry through.
  const open = jobs.filter((j) => retried.has(j.id) && (j.status === "queued" || j.status === "running"));
  clearTimeout(watchTimer);
  if (open.length > 0) watchTimer = setTimeout(() => guard(loadGpu)(), 1500);
}

async function showSessions(user) {
  const { sessions } = await api("GET", `/v1/admin/users/${user.id}/sessions`);
  $("sessions").hidden = false;
  $("sessions-of").textContent = user.username;
  table(
    "sessions-table",
    [
      ["session", (s) => el("code", {}, s.id.slice(0, 8))],
      ["state", (s) => pill(s.live ? "live" : s.revokedAt ? "revoked" : "expired", s.live ? "ok" : "bad")],
      ["address", (s) => s.ip ?? "—"],
      ["client", (s) => s.userAgent ?? "—"],
      ["last used", (s) => when(s.lastUsedAt)],
      [
        "",
        (s) =>
          s.live
            ? button(
                "Revoke",
                async () => {
                  await api("DELETE", `/v1/admin/sessions/${s.id}`);
                  await showSessions(user);
                },
                "danger",
              )
            : "",
      ],
    ],
    sessions,
    "no sessions",
  );
}

async function loadUsers() {
  const { users } = await api("GET", "/v1/users?limit=100");
  table(
    "users-table",
    [
      ["user", (u) => u.username],
      ["email", (u) => u.email],
      ["roles", (u) => u.roles.join(", ")],
      ["state", (u) => (u.active ? pill("active", "ok") : pill("inactive", "bad"))],
      ["created", (u) => when(u.created)],
      [
        "",
        (u) =>
          el(
            "span",
            { class: "who" },
            button("Sessions", () => showSessions(u), "ghost"),
            button(
              "Sign out everywhere",
              async () => {
                await api("POST", `/v1/users/${u.id}/revoke-sessions`);
                if (!$("sessions").hidden && $("sessions-of").textContent === u.username) await showSessions(u);
              },
              "danger",
            ),
          ),
      ],
    ],
    users,
  );
}

// ---- Sign-in and the whole page ----

const PANELS = { charts: loadCharts, health: loadHealth, hub: loadHub, gpu: loadGpu, users: loadUsers };

/** Runs a loader; its failure shows in the banner and marks its panel, never stops the others. */
function guard(load, panel) {
  return async () => {
    try {
      await load();
      if (panel) $(`panel-${panel}`).dataset.loaded = "true";
    } catch (err) {
      if (panel) $(`panel-${panel}`).dataset.loaded = "error";
      showError(err);
    }
  };
}

async function loadAll() {
  $("banner").textContent = "";
  await Promise.all(Object.entries(PANELS).map(([name, load]) => guard(load, name)()));
}

function showConsole() {
  const tokens = saved();
  $("login-view").hidden = true;
  $("console-view").hidden = false;
  $("who").hidden = false;
  $("who-name").textContent = tokens?.username ?? "";
  void loadAll();
}

function signOut(message = "") {
  const tokens = saved();
  if (tokens?.refreshToken) {
    void fetch("/v1/auth/logout", { method: "POST", headers: { authorization: `Bearer ${tokens.accessToken}` } }).catch(
      () => {},
    );
  }
  save(null);
  $("console-view").hidden = true;
  $("who").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message;
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  $("login-error").textContent = "";
  const res = await fetch("/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: form.get("username"), password: form.get("password") }),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    $("login-error").textContent = body?.error?.message ?? `Sign-in failed (${res.status})`;
    return;
  }
  if (!body.user.roles.includes("admin")) {
    $("login-error").textContent = "This account is not an admin.";
    return;
  }
  save({ accessToken: body.accessToken, refreshToken: body.refreshToken, username: body.user.username });
  showConsole();
});
$("logout").addEventListener("click", () => signOut());
$("refresh").addEventListener("click", () => void loadAll());

if (saved()?.accessToken) showConsole();
