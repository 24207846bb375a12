// One client for the suites that talk to a running Tessera over real HTTP (tests/e2e, tests/faults, tests/node):
// a dev suite on free ports, JSON calls with a token, sign-up and sign-in, and polling that backs off and honours
// Retry-After. tests/workers has its own (tests/workers/support.ts), since it calls the Worker's fetch in-process.
import { join } from "node:path";
import { freePort } from "../../dev/lib/processes";
import { type DevSuite, startDevSuite } from "../../dev/lib/suite";
import type { Scratch } from "./scratch";

// ---- a suite ----

/** `npm run dev`'s suite (bridge + `wrangler dev`) on free ports, keeping its state in the scratch dir. */
export async function startSuite(
  scratch: Scratch,
  vars: Record<string, string>,
  write: (line: string) => void,
  extra: Pick<Parameters<typeof startDevSuite>[0], "gpuWorker"> = {},
): Promise<DevSuite> {
  return startDevSuite({
    ...extra,
    port: await freePort(),
    bridgePort: await freePort(),
    inspectorPort: await freePort(),
    pgliteDir: join(scratch.dir, "pglite"),
    databaseUrl: scratch.databaseUrl,
    persistDir: join(scratch.dir, "wrangler"),
    vars,
    write,
  });
}

// ---- calls ----

/** An answer: its status, its JSON body (`{}` when empty), and its headers. */
export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export interface CallOptions {
  /** A bearer token: a user's access token, a service or GPU worker credential. */
  token?: string;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** A request with the token and JSON body filled in; the raw response, for bodies that are not JSON. */
export function send(base: string, method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] ??= "application/json";
  return fetch(`${base}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
}

/** A JSON call. */
export async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  opts: CallOptions = {},
): Promise<Reply<T>> {
  const res = await send(base, method, path, opts);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, headers: res.headers };
}

// ---- users ----

export interface User {
  token: string;
  id: string;
  username: string;
  password: string;
}

/** A name no other test uses, in this file or another running beside it. */
export function unique(prefix: string): string {
  return `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/**
 * Signs a new user up over HTTP. `wrangler dev` passes the client's CF-Connecting-IP through (Cloudflare would
 * overwrite it), so each sign-up comes from an address of its own, clear of the registration limit (tested elsewhere).
 */
export async function signUp(base: string, prefix = "user", password = "e2e password 1"): Promise<User> {
  const username = unique(prefix);
  const ip = `2001:db8:e2e::${crypto.randomUUID().slice(0, 4)}:${crypto.randomUUID().slice(0, 4)}`;
  const res = await call<{ accessToken: string; user: { id: string } }>(base, "POST", "/v1/auth/register", {
    body: { username, email: `${username}@example.com`, password },
    headers: { "cf-connecting-ip": ip },
  });
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { token: res.body.accessToken, id: res.body.user.id, username, password };
}

/** Signs an existing user in; answers the access token. */
export async function signIn(base: string, username: string, password: string): Promise<string> {
  const res = await call<{ accessToken: string }>(base, "POST", "/v1/auth/login", { body: { username, password } });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.accessToken;
}

// ---- waiting ----

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks until `done` holds or `timeoutMs` passes, and answers the last reply. Between asks it backs off (200 ms,
 * growing by half up to 2 s); a 429 or 503 waits what its Retry-After says instead, so a slow job polled on a loaded
 * machine is not refused by the per-user request limit.
 */
export async function poll<T>(
  ask: () => Promise<Reply<T>>,
  done: (reply: Reply<T>) => boolean,
  timeoutMs = 60_000,
): Promise<Reply<T>> {
  const deadline = Date.now() + timeoutMs;
  let delay = 200;
  for (;;) {
    const reply = await ask();
    if (done(reply) || Date.now() > deadline) return reply;
    const retryAfter = Number(reply.headers.get("retry-after"));
    const throttled = (reply.status === 429 || reply.status === 503) && retryAfter > 0;
    await sleep(Math.min(throttled ? retryAfter * 1000 : delay, Math.max(0, deadline - Date.now())));
    delay = Math.min(delay * 1.5, 2000);
  }
}
