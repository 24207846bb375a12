// What both WebSocket relays share: their options, the session shape the registry tracks, and
// small helpers for the client side of the tunnel.
import { type RawData, WebSocket } from "ws";

export interface RelayOptions {
  lockTimeoutMs: number;
  /** A PGlite session that holds the lock with no traffic either way for this long is disconnected. */
  idleInTransactionTimeoutMs: number;
  log: (line: string) => void;
}

export interface RelaySession {
  readonly closed: boolean;
  /** Settles once the session's database side is cleaned up and closed. */
  readonly done: Promise<void>;
  close(reason: string): void;
}

export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export function sendTo(ws: WebSocket, bytes: Buffer): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(bytes);
}

export function closeWs(ws: WebSocket): void {
  if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
}

/** No TLS inside the tunnel: the WebSocket is the transport, as with Neon's proxy. */
export const SSL_REFUSED = Buffer.from("N");
