// Who may talk to the bridge. It listens on loopback only, but a web page in a local browser can still
// reach loopback, so every request must prove it comes from a database driver, not a page:
// - no `Origin` header (browsers send one on every cross-origin fetch and every WebSocket; drivers never do);
// - a loopback `Host` (a DNS-rebinding page sends its own host name);
// - the per-run secret: the password in the connection string the Worker holds (SQL over HTTP sends the whole
//   string in `Neon-Connection-String`);
// - for /sql, only the content types the Neon driver's fetch sends (a string body: text/plain;charset=UTF-8).
// See docs/security.md.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export interface GateRefusal {
  status: 401 | 403 | 415;
  message: string;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
/** What `fetch(url, { body: string })` sends, and what other clients of the protocol may name. */
const SQL_CONTENT_TYPES = new Set(["text/plain;charset=utf-8", "text/plain", "application/json"]);

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function secretsEqual(given: string | undefined, secret: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The password of a `postgres://user:password@host/db` string, or undefined. */
function connectionPassword(connectionString: string | undefined): string | undefined {
  if (!connectionString) return undefined;
  try {
    return decodeURIComponent(new URL(connectionString).password);
  } catch {
    return undefined;
  }
}

function hostIsLoopback(req: IncomingMessage): boolean {
  const host = header(req, "host");
  if (!host) return false;
  try {
    return LOOPBACK_HOSTS.has(new URL(`http://${host}`).hostname);
  } catch {
    return false;
  }
}

/** The checks every request passes before anything else (health included). */
function browserRefusal(req: IncomingMessage): GateRefusal | undefined {
  if (req.headers.origin !== undefined) {
    return { status: 403, message: "db-bridge: requests with an Origin header are refused" };
  }
  if (!hostIsLoopback(req)) return { status: 403, message: "db-bridge: the Host header must name loopback" };
  return undefined;
}

export function refuseHttp(req: IncomingMessage, path: string, secret: string): GateRefusal | undefined {
  const refused = browserRefusal(req);
  if (refused || path !== "/sql") return refused;
  const type = header(req, "content-type")?.toLowerCase().replace(/\s+/g, "");
  if (type !== undefined && !SQL_CONTENT_TYPES.has(type)) {
    return { status: 415, message: "db-bridge: /sql takes the Neon driver's text/plain or application/json body" };
  }
  if (!secretsEqual(connectionPassword(header(req, "neon-connection-string")), secret)) {
    return { status: 401, message: "db-bridge: the connection string's password is not this bridge's secret" };
  }
  return undefined;
}
