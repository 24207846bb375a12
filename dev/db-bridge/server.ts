// The bridge: one loopback HTTP server that answers Neon's SQL-over-HTTP at /sql, relays Neon's
// WebSocket protocol at /v2, and reports readiness at /health, in front of PGlite or Postgres.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";
import { type Backend, type BackendKind, openBackend } from "./backend";
import { refuseHttp, refuseUpgrade } from "./gate";
import { handleSql } from "./http-sql";
import { RelayRegistry } from "./ws-relay";

export interface BridgeOptions {
  /** 0 picks a free port. */
  port?: number;
  /** Loopback only. */
  host?: "127.0.0.1";
  /**
   * The secret every client must present (gate.ts): the password in `url`. Default: a random one per start;
   * the dev runner passes its own so the Worker's DATABASE_URL survives a bridge restart.
   */
  secret?: string;
  /** Any Postgres; when absent, PGlite in dataDir. */
  databaseUrl?: string;
  /** PGlite's data directory (default .data/pglite under the repository root). */
  dataDir?: string;
  migrationsFolder?: string;
  log?: (line: string) => void;
  /** How long an HTTP request or relayed transaction waits for PGlite's one session (default 10 s). */
  lockTimeoutMs?: number;
  /** A relayed PGlite session idle this long while holding the database is disconnected (default 30 s). */
  idleInTransactionTimeoutMs?: number;
  /** Larger /sql bodies get 413 (default 16 MiB). */
  maxBodyBytes?: number;
}

export interface Bridge {
  port: number;
  /** What the Worker's DATABASE_URL should be (it carries the secret as its password: never log it). */
  url: string;
  backend: BackendKind;
  close(): Promise<void>;
}

export const DEFAULT_DATA_DIR = fileURLToPath(new URL("../../.data/pglite", import.meta.url));
const MAX_WS_SESSIONS = 256;
/** How long close() lets in-flight HTTP requests finish before cutting their connections. */
const DRAIN_MS = 5_000;

export async function startBridge(opts: BridgeOptions = {}): Promise<Bridge> {
  const log = opts.log ?? (() => {});
  const host = opts.host ?? "127.0.0.1";
  const lockTimeoutMs = opts.lockTimeoutMs ?? 10_000;
  const maxBodyBytes = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  const secret = opts.secret ?? newBridgeSecret();
  // Migrations run inside openBackend, before the server listens: no client ever sees an old schema.
  const backend: Backend = await openBackend({
    databaseUrl: opts.databaseUrl,
    dataDir: opts.dataDir ?? DEFAULT_DATA_DIR,
    migrationsFolder: opts.migrationsFolder,
    lockTimeoutMs,
    log,
  });
  const relays = new RelayRegistry(backend, {
    lockTimeoutMs,
    idleInTransactionTimeoutMs: opts.idleInTransactionTimeoutMs ?? 30_000,
    log,
  });
  const inFlight = new Set<Promise<void>>();

  const server = createServer((req, res) => {
    const handled = route(req, res, backend, { maxBodyBytes, log, secret });
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://bridge");
    const refused = refuseUpgrade(req, url, secret);
    if (refused) return rejectUpgrade(socket, refused.status, refused.status === 401 ? "Unauthorized" : "Forbidden");
    if (url.pathname !== "/v2") return rejectUpgrade(socket, 404, "Not Found");
    if (relays.size >= MAX_WS_SESSIONS) return rejectUpgrade(socket, 503, "Service Unavailable");
    wss.handleUpgrade(req, socket, head, (ws) => relays.accept(ws));
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await backend.close().catch(() => {});
    throw error;
  }
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  log(`listening on ${host}:${port} (backend ${backend.kind})`);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await relays.closeAll("the bridge is shutting down");
      // Clients that do not answer the close handshake must not hold the shutdown.
      for (const ws of wss.clients) ws.terminate();
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, DRAIN_MS))]);
      server.closeAllConnections();
      await stopped;
      wss.close();
      await backend.close();
      log("closed");
    })();
    return closing;
  };

  return { port, url: bridgeConnectionString(port, secret), backend: backend.kind, close };
}

/** A fresh per-run secret: URL-safe, so it sits in a connection string and a query string unescaped. */
export function newBridgeSecret(): string {
  return randomBytes(24).toString("base64url");
}

/** A connection string fit for a log line: its password replaced by `***`. */
export function maskSecret(connectionString: string): string {
  return connectionString.replace(/^(postgres(?:ql)?:\/\/[^:@/]*:)[^@]*@/, "$1***@");
}

/** The DATABASE_URL of a bridge on `port` with `secret`. */
export function bridgeConnectionString(port: number, secret: string): string {
  return `postgres://tessera:${secret}@127.0.0.1:${port}/tessera`;
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  backend: Backend,
  opts: { maxBodyBytes: number; log: (line: string) => void; secret: string },
): Promise<void> {
  const path = new URL(req.url ?? "/", "http://bridge").pathname;
  const refused = refuseHttp(req, path, opts.secret);
  if (refused) {
    req.resume();
    return json(res, refused.status, { message: refused.message });
  }
  if (path === "/sql") return handleSql(req, res, backend, opts);
  if (path === "/health" && (req.method === "GET" || req.method === "HEAD")) {
    return json(res, 200, { status: "ok", backend: backend.kind });
  }
  json(res, 404, { message: `db-bridge: no route for ${req.method} ${path} (POST /sql, GET /health, WebSocket /v2)` });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
