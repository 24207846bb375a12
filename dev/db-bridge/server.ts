// The bridge: one loopback HTTP server that answers Neon's SQL-over-HTTP at /sql and reports readiness at
// /health, in front of PGlite or Postgres. (Neon's WebSocket protocol is not served: the Worker uses HTTP only.)
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { type Backend, type BackendKind, openBackend } from "./backend";
import { handleSql } from "./http-sql";

export interface BridgeOptions {
  /** 0 picks a free port. */
  port?: number;
  /** Loopback only: the bridge has no authentication. */
  host?: "127.0.0.1";
  /** Any Postgres; when absent, PGlite in dataDir. */
  databaseUrl?: string;
  /** PGlite's data directory (default .data/pglite under the repository root). */
  dataDir?: string;
  migrationsFolder?: string;
  log?: (line: string) => void;
  /** How long an HTTP request waits for PGlite's one session (default 10 s). */
  lockTimeoutMs?: number;
  /** Larger /sql bodies get 413 (default 16 MiB). */
  maxBodyBytes?: number;
}

export interface Bridge {
  port: number;
  /** What the Worker's DATABASE_URL should be. */
  url: string;
  backend: BackendKind;
  close(): Promise<void>;
}

export const DEFAULT_DATA_DIR = fileURLToPath(new URL("../../.data/pglite", import.meta.url));
/** How long close() lets in-flight HTTP requests finish before cutting their connections. */
const DRAIN_MS = 5_000;

export async function startBridge(opts: BridgeOptions = {}): Promise<Bridge> {
  const log = opts.log ?? (() => {});
  const host = opts.host ?? "127.0.0.1";
  const lockTimeoutMs = opts.lockTimeoutMs ?? 10_000;
  const maxBodyBytes = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  // Migrations run inside openBackend, before the server listens: no client ever sees an old schema.
  const backend: Backend = await openBackend({
    databaseUrl: opts.databaseUrl,
    dataDir: opts.dataDir ?? DEFAULT_DATA_DIR,
    migrationsFolder: opts.migrationsFolder,
    lockTimeoutMs,
    log,
  });
  const inFlight = new Set<Promise<void>>();

  const server = createServer((req, res) => {
    const handled = route(req, res, backend, { maxBodyBytes, log });
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
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
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, DRAIN_MS))]);
      server.closeAllConnections();
      await stopped;
      await backend.close();
      log("closed");
    })();
    return closing;
  };

  return { port, url: `postgres://tessera@${host}:${port}/tessera`, backend: backend.kind, close };
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  backend: Backend,
  opts: { maxBodyBytes: number; log: (line: string) => void },
): Promise<void> {
  const path = new URL(req.url ?? "/", "http://bridge").pathname;
  if (path === "/sql") return handleSql(req, res, backend, opts);
  if (path === "/health" && (req.method === "GET" || req.method === "HEAD")) {
    return json(res, 200, { status: "ok", backend: backend.kind });
  }
  json(res, 404, { message: `db-bridge: no route for ${req.method} ${path} (POST /sql, GET /health)` });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
