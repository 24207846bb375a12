// Just enough of the Postgres wire protocol (v3) for the WebSocket relay: split what a client sends
// into whole messages, notice each ReadyForQuery the server sends (it marks a transaction
// boundary), and build the few server messages the bridge answers by itself.

const PROTOCOL_3_MAJOR = 3;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** Larger than any sane message from a driver; guards the buffer against garbage input. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export type FrontendMessage =
  | { kind: "startup"; bytes: Buffer; params: Map<string, string> }
  | { kind: "ssl-request" | "gssenc-request" | "cancel"; bytes: Buffer }
  | { kind: "typed"; type: string; bytes: Buffer };

export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** Message types after which the server sends exactly one ReadyForQuery. */
const SYNC_POINTS = new Set(["Q", "S", "F"]);

/** True when the server will answer this message with (eventually) one ReadyForQuery. */
export function endsWithReadyForQuery(message: FrontendMessage): boolean {
  return message.kind === "startup" || (message.kind === "typed" && SYNC_POINTS.has(message.type));
}

/** Reassembles client bytes (which may arrive split or batched) into whole messages. */
export class FrontendReader {
  #chunks: Buffer[] = [];
  #length = 0;
  // Until the StartupMessage, messages carry no type byte.
  #beforeStartup = true;

  push(chunk: Buffer): FrontendMessage[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#length += chunk.length;
    }
    const out: FrontendMessage[] = [];
    for (;;) {
      const message = this.#next();
      if (!message) return out;
      out.push(message);
    }
  }

  /** Hands back whatever was received but not parsed yet (for switching to a plain pipe). */
  takeRest(): Buffer {
    const rest = Buffer.concat(this.#chunks, this.#length);
    this.#chunks = [];
    this.#length = 0;
    return rest;
  }

  #peek(bytes: number): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#length)];
    return (this.#chunks[0] as Buffer).subarray(0, bytes);
  }

  #take(bytes: number): Buffer {
    const all = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#length);
    const message = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
    return message;
  }

  #next(): FrontendMessage | undefined {
    if (this.#beforeStartup) {
      if (this.#length < 8) return undefined;
      const head = this.#peek(8);
      const length = head.readInt32BE(0);
      if (length < 8 || length > MAX_MESSAGE_BYTES) throw new ProtocolError(`invalid startup packet length ${length}`);
      if (this.#length < length) return undefined;
      const code = head.readInt32BE(4);
      const bytes = this.#take(length);
      if (code === SSL_REQUEST) return { kind: "ssl-request", bytes };
      if (code === GSSENC_REQUEST) return { kind: "gssenc-request", bytes };
      if (code === CANCEL_REQUEST) return { kind: "cancel", bytes };
      if (code >>> 16 !== PROTOCOL_3_MAJOR) throw new ProtocolError(`unsupported protocol version ${code >>> 16}`);
      this.#beforeStartup = false;
      return { kind: "startup", bytes, params: parseStartupParams(bytes) };
    }
    if (this.#length < 5) return undefined;
    const head = this.#peek(5);
    const length = head.readInt32BE(1);
    if (length < 4 || length > MAX_MESSAGE_BYTES) throw new ProtocolError(`invalid message length ${length}`);
    if (this.#length < length + 1) return undefined;
    const type = String.fromCharCode(head[0] as number);
    return { kind: "typed", type, bytes: this.#take(length + 1) };
  }
}

function parseStartupParams(bytes: Buffer): Map<string, string> {
  const params = new Map<string, string>();
  const strings = bytes.subarray(8).toString("utf8").split("\0");
  for (let i = 0; i + 1 < strings.length; i += 2) {
    const key = strings[i] as string;
    if (key === "") break;
    params.set(key, strings[i + 1] as string);
  }
  return params;
}

export type TransactionStatus = "I" | "T" | "E";

/**
 * Follows the server's byte stream without buffering it (result sets can be large) and reports
 * the transaction status carried by each ReadyForQuery, in order.
 */
export class BackendTracker {
  #header = Buffer.alloc(5);
  #headerFill = 0;
  #remaining = 0;
  #inReadyForQuery = false;

  push(chunk: Buffer): TransactionStatus[] {
    const statuses: TransactionStatus[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, chunk.length - offset);
        if (this.#inReadyForQuery) {
          // ReadyForQuery's body is one status byte.
          statuses.push(String.fromCharCode(chunk[offset] as number) as TransactionStatus);
          this.#inReadyForQuery = false;
        }
        this.#remaining -= n;
        offset += n;
        continue;
      }
      const n = Math.min(5 - this.#headerFill, chunk.length - offset);
      chunk.copy(this.#header, this.#headerFill, offset, offset + n);
      this.#headerFill += n;
      offset += n;
      if (this.#headerFill < 5) break;
      this.#headerFill = 0;
      const length = this.#header.readInt32BE(1);
      if (length < 4) throw new ProtocolError(`invalid backend message length ${length}`);
      this.#remaining = length - 4;
      this.#inReadyForQuery = this.#header[0] === 0x5a /* Z */ && this.#remaining === 1;
    }
    return statuses;
  }
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value | 0, 0);
  return b;
}

const cstring = (s: string) => Buffer.from(`${s}\0`, "utf8");

export interface ErrorFields {
  severity: "ERROR" | "FATAL";
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

export function errorResponse(fields: ErrorFields): Buffer {
  const parts = [
    Buffer.from("S"),
    cstring(fields.severity),
    Buffer.from("V"),
    cstring(fields.severity),
    Buffer.from("C"),
    cstring(fields.code),
    Buffer.from("M"),
    cstring(fields.message),
  ];
  if (fields.detail) parts.push(Buffer.from("D"), cstring(fields.detail));
  if (fields.hint) parts.push(Buffer.from("H"), cstring(fields.hint));
  parts.push(Buffer.from([0]));
  return message("E", Buffer.concat(parts));
}

export const authenticationOk = () => message("R", int32(0));
export const parameterStatus = (name: string, value: string) =>
  message("S", Buffer.concat([cstring(name), cstring(value)]));
export const backendKeyData = (processId: number, secretKey: number) =>
  message("K", Buffer.concat([int32(processId), int32(secretKey)]));
export const readyForQuery = (status: TransactionStatus) => message("Z", Buffer.from(status, "latin1"));
/** Frontend messages the relay sends for its own housekeeping. */
export const syncMessage = () => message("S", Buffer.alloc(0));
export const queryMessage = (sql: string) => message("Q", cstring(sql));
