// `npm run bench:envelope`: what each part of a request's envelope costs on workerd, measured as bare Workers in
// one run, so that "how far is GET / from the floor" can be answered part by part (docs/benchmarks.md, "The
// envelope, part by part"). Each layer adds one thing to the one before it:
//   floor            `new Response("ok")`
//   + JSON           the body and Content-Type a route's `c.json()` makes
//   + 10 headers     the headers every Tessera JSON answer carries (secure headers, CSP, CORS, request id,
//                    timing), set one by one on the finished response (and the 16 it carried before)
//   + id, log        a request id (randomUUID), the duration, and the access log line (JSON, batched 64 a call)
//   + timeout        the handler run as a promise under a setTimeout/clearTimeout deadline
//   hono             the same work as "+ timeout" inside Hono: one route, the envelope as one middleware
//   hono, 5 mw       … as five middlewares, as Tessera's chain was
// and, in the same rounds, Tessera's own `GET /` on the production runtime. Three variants set the same 10 headers
// through the Response constructor or a copied Headers instead, to see which way is cheaper. The proxy layers: a
// bare Worker that forwards to a trivial upstream (bench/lib/upstream.ts), then with the header filtering and the
// upstream timeout's timer that the gateway adds.
// Knobs: BENCH_ONLY (a regular expression over the layers' names), BENCH_ROUNDS, BENCH_DURATION_MS, BENCH_WARMUP_MS, BENCH_CONNECTIONS.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { startBridge } from "../dev/db-bridge/server";
import { ROOT } from "../dev/lib/suite";
import { generateKeyPairSecrets } from "../src/lib/identity/keys";
import { API_CSP, DOCUMENT_HEADERS, SECURE_HEADERS } from "../src/lib/platform/middleware";
import { beginBench, failBench, log, settings, UNLIMITED_VARS } from "./lib/common";
import {
  benchJson,
  formatTable,
  roundLine,
  runRounds,
  type Scenario,
  startFloor,
  startTessera,
  type Target,
} from "./lib/harness";
import { startUpstream } from "./lib/upstream";

const NAME = "bench:envelope";
/** A regular expression over layer names (the floor always runs); "tessera" matches Tessera's GET /. */
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const wanted = (name: string) => name === "floor" || !ONLY || ONLY.test(name);

/**
 * The headers a Tessera JSON answer carries beside Content-Type, X-Request-Id and Server-Timing, taken from the
 * envelope itself (CORS's two as the API policy sets them); and the six that only act on an HTML page, which every
 * answer also carried before (docs/security.md "Response headers").
 */
const HEADERS = JSON.stringify([
  ...SECURE_HEADERS,
  ["Content-Security-Policy", API_CSP],
  [
    "Access-Control-Expose-Headers",
    "X-Request-Id,Retry-After,RateLimit-Limit,RateLimit-Remaining,RateLimit-Reset,Server-Timing,ETag",
  ],
  ["Vary", "Origin"],
]);
const DOCUMENT = JSON.stringify(DOCUMENT_HEADERS);

const BODY = `{ service: "tessera", version: "0.1.0", status: "running" }`;

/** Shared by the layers: the JSON answer, the headers, the id and log, the deadline. */
const PRELUDE = `
const HEADERS = ${HEADERS};
const DOCUMENT_HEADERS = ${DOCUMENT};
const BODY = () => (${BODY});
const json = (value) => new Response(JSON.stringify(value), { headers: { "content-type": "application/json" } });
const finish = (res, id, ms) => {
  const h = res.headers;
  for (const [name, value] of HEADERS) h.set(name, value);
  h.set("X-Request-Id", id);
  h.set("Server-Timing", "total;dur=" + ms);
  return res;
};
let lines = [];
const flush = () => { const out = lines; lines = []; console.log(out.join("\\n")); };
const access = (id, ms, status) => {
  lines.push(JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "request", requestId: id,
    method: "GET", path: "/", route: "/", status, durationMs: ms }));
  if (lines.length >= 64) flush();
};
const deadline = (promise, ms) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("timeout")), ms);
  promise.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
});
`;

const LAYERS: { name: string; script: string }[] = [
  { name: "floor", script: `export default { fetch() { return new Response("ok"); } };` },
  { name: "+ JSON", script: `${PRELUDE} export default { fetch() { return json(BODY()); } };` },
  {
    name: "+ 16 headers (every answer's, before)",
    script: `${PRELUDE} export default { fetch() {
  const res = finish(json(BODY()), "id", 1);
  for (const [name, value] of DOCUMENT_HEADERS) res.headers.set(name, value);
  return res;
} };`,
  },
  {
    name: "+ 10 headers",
    script: `${PRELUDE} export default { fetch() { return finish(json(BODY()), "id", 1); } };`,
  },
  {
    name: "+ 10 headers (in the init)",
    script: `${PRELUDE}
const INIT = Object.fromEntries([["content-type", "application/json"], ...HEADERS]);
export default { fetch() {
  return new Response(JSON.stringify(BODY()), { headers: { ...INIT, "X-Request-Id": "id", "Server-Timing": "total;dur=1" } });
} };`,
  },
  {
    name: "+ 10 headers (a Headers copied)",
    script: `${PRELUDE}
const TEMPLATE = new Headers([["content-type", "application/json"], ...HEADERS]);
export default { fetch() {
  const headers = new Headers(TEMPLATE);
  headers.set("X-Request-Id", "id");
  headers.set("Server-Timing", "total;dur=1");
  return new Response(JSON.stringify(BODY()), { headers });
} };`,
  },
  {
    name: "+ 10 headers (Headers in the init)",
    script: `${PRELUDE}
const TEMPLATE = new Headers([["content-type", "application/json"], ...HEADERS]);
export default { fetch() {
  const res = new Response(JSON.stringify(BODY()), { headers: TEMPLATE });
  res.headers.set("X-Request-Id", "id");
  res.headers.set("Server-Timing", "total;dur=1");
  return res;
} };`,
  },
  {
    name: "+ id, log",
    script: `${PRELUDE} export default { fetch() {
  const started = performance.now();
  const id = crypto.randomUUID();
  const res = json(BODY());
  const ms = Math.round((performance.now() - started) * 10) / 10;
  access(id, ms, 200);
  return finish(res, id, ms);
} };`,
  },
  {
    name: "+ timeout",
    script: `${PRELUDE} export default { async fetch() {
  const started = performance.now();
  const id = crypto.randomUUID();
  const res = await deadline((async () => json(BODY()))(), 30000);
  const ms = Math.round((performance.now() - started) * 10) / 10;
  access(id, ms, 200);
  return finish(res, id, ms);
} };`,
  },
];

/**
 * The gateway proxy's floor: a Worker that fetches the same trivial upstream as bench:http's proxy scenario and
 * returns its answer as it came, then the same with the request's and the answer's headers copied and filtered
 * (a copy and a delete per hop-by-hop name), then with the upstream timeout's timer.
 */
const PROXY_LAYERS: { name: string; script: string }[] = [
  {
    name: "proxy floor",
    script: `export default { fetch(request, env) {
  const url = new URL(request.url);
  return fetch(env.UPSTREAM + "/echo" + url.search, { method: request.method, headers: request.headers });
} };`,
  },
  {
    name: "proxy + copy, deletes",
    script: `
const DROP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
  "transfer-encoding", "proxy-connection", "upgrade"];
export default { async fetch(request, env) {
  const url = new URL(request.url);
  const headers = new Headers(request.headers);
  for (const name of DROP) headers.delete(name);
  headers.delete("host");
  headers.set("X-Forwarded-For", "127.0.0.1");
  headers.set("X-Forwarded-Proto", "http");
  headers.set("X-Request-Id", "id");
  const res = await fetch(env.UPSTREAM + "/echo" + url.search, { method: request.method, headers });
  const out = new Headers(res.headers);
  for (const name of DROP) out.delete(name);
  return new Response(res.body, { status: res.status, headers: out });
} };`,
  },
  {
    name: "proxy + timer",
    script: `export default { async fetch(request, env) {
  const url = new URL(request.url);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 30000);
  try {
    return await fetch(env.UPSTREAM + "/echo" + url.search, { method: request.method, headers: request.headers, signal: controller.signal });
  } finally { clearTimeout(timer); }
} };`,
  },
];

/** The "+ timeout" layer's work inside Hono: with the envelope as one middleware, or split over five. */
const HONO_ENTRY = (middlewares: number) => `
import { Hono } from "hono";
${PRELUDE}
const app = new Hono();
${
  middlewares === 1
    ? `app.use("*", async (c, next) => {
  const started = performance.now();
  const id = crypto.randomUUID();
  c.set("requestId", id);
  await next();
  const ms = Math.round((performance.now() - started) * 10) / 10;
  access(id, ms, c.res.status);
  finish(c.res, id, ms);
});`
    : `app.use("*", async (c, next) => { const started = performance.now(); await next(); c.set("ms", Math.round((performance.now() - started) * 10) / 10); },
  async (c, next) => { const id = crypto.randomUUID(); c.set("requestId", id); await next(); access(id, 1, c.res.status); },
  async (c, next) => { await next(); c.res.headers.set("Vary", "Origin"); },
  async (c, next) => { await next(); finish(c.res, c.get("requestId"), 1); },
  async (_c, next) => { await next(); });`
}
app.get("/", (c) => deadline((async () => c.json(BODY()))(), 30000));
export default app;
`;

async function bundleHono(middlewares: number): Promise<string> {
  const out = await build({
    stdin: { contents: HONO_ENTRY(middlewares), resolveDir: ROOT, loader: "js" },
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
    minify: false,
  });
  return (out.outputFiles[0] as { text: string }).text;
}

async function main(): Promise<void> {
  const done = beginBench(NAME, 600_000);
  const tmp = await mkdtemp(join(tmpdir(), "tessera-bench-envelope-"));
  const targets: Target[] = [];
  let bridge: Awaited<ReturnType<typeof startBridge>> | undefined;
  let upstream: Target | undefined;
  try {
    const floors = [
      ...LAYERS,
      { name: "hono, 1 middleware", script: await bundleHono(1) },
      { name: "hono, 5 middlewares", script: await bundleHono(5) },
    ];
    for (const layer of floors.filter((l) => wanted(l.name))) {
      targets.push(await startFloor(layer.name, { script: layer.script }));
    }
    const proxies = PROXY_LAYERS.filter((l) => wanted(l.name));
    if (proxies.length > 0) {
      upstream = await startUpstream();
      for (const layer of proxies) {
        const bindings = { UPSTREAM: upstream.url.replace(/\/$/, "") };
        targets.push(await startFloor(layer.name, { script: layer.script, bindings }));
      }
    }
    if (wanted("tessera GET /")) {
      bridge = await startBridge({ port: 0, dataDir: join(tmp, "pglite") });
      const tessera = await startTessera("tessera GET /", {
        databaseUrl: bridge.url,
        vars: { ...(await generateKeyPairSecrets("ES256")), ...UNLIMITED_VARS, LOG_LEVEL: "info" },
        outDir: join(tmp, "dist"),
        persistDir: join(tmp, "state"),
      });
      targets.push(tessera);
    }
    const base = {
      connections: settings.connections,
      durationMs: settings.durationMs,
      warmupMs: settings.warmupMs,
    };
    const scenarios: Scenario[] = targets.map((target, i) => ({
      name: target.name,
      target,
      path: "/",
      ...base,
      ...(i === 0 ? {} : { baseline: "floor" }),
    }));
    const results = await runRounds(scenarios, {
      rounds: settings.rounds,
      onRound: (s, round, r) => log(roundLine(s, round, r)),
    });
    log();
    log(formatTable(results));
    log();
    log(benchJson(NAME, results));
  } finally {
    for (const t of targets.reverse()) await t.close().catch(() => {});
    await bridge?.close().catch(() => {});
    await upstream?.close().catch(() => {});
    await rm(tmp, { recursive: true, force: true });
    done();
  }
}

main().catch(failBench(NAME));
