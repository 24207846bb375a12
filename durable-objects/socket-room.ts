// What both socket rooms share (Hub on /v1/hub, LegacyHub on /ws; docs/hub.md): the hibernation API with
// ping/pong answered by the runtime, admission under the per-user socket limit, the checks every client frame
// passes before its schema (flood guard, size, JSON), handlers that log with the socket's context instead of
// dying silently, and the close handshake with its one release. A subclass says what a frame means, what the
// others hear when someone leaves, and how its protocol spells an error frame.
import { DurableObject } from "cloudflare:workers";
import { registerSocket, releaseSocket } from "../src/lib/hub/connections";
import { FloodGuards } from "../src/lib/hub/flood";
import { withinBytes } from "../src/lib/hub/rooms";
import { type Config, type Env, getConfig } from "../src/lib/platform/env";
import type { ErrorCode, Issue } from "../src/lib/platform/errors";
import { createLogger, type Logger } from "../src/lib/platform/log";
import { type Refusable, refuse } from "../src/lib/platform/refusal";

/** What every socket carries through hibernation, whatever else its room keeps there. */
interface SocketAttachment {
  connId: string;
  requestId: string;
}

export abstract class SocketRoom<A extends SocketAttachment> extends DurableObject<Env> {
  protected readonly config: Config["hub"];
  protected readonly log: Logger;
  /**
   * Per-socket message buckets. In memory only, on purpose: the object is evicted only after its sockets have been
   * quiet, and a quiet socket's bucket would have refilled anyway.
   */
  private readonly floods: FloodGuards;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const config = getConfig(env);
    this.config = config.hub;
    this.log = createLogger(config.logLevel, { room: this.roomName });
    this.floods = new FloodGuards(this.config.messagesPerSecond);
    // Answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** The room's name: the name its stub was made from (`getByName`), so it survives hibernation unstored. */
  protected get roomName(): string {
    return this.ctx.id.name ?? "";
  }

  // ---- what a room says ----

  /** The user a socket belongs to (also its tag, so getWebSockets(userId) finds one user's sockets). */
  protected abstract userIdOf(att: A): string;
  /** A frame that passed the flood guard, the size limit and JSON parsing. */
  protected abstract onFrame(ws: WebSocket, att: A, json: unknown): void;
  /** After a socket has gone (closed or failed), before its place under the per-user limit is released. */
  protected abstract onLeave(att: A): void;
  /** An error frame in the room's protocol. */
  protected abstract errorFrame(att: A, code: ErrorCode, message: string, issues?: Issue[]): string;

  // ---- admission ----

  /**
   * Takes a place for a new socket under the user's limit across every room (HUB_MAX_CONNECTIONS_PER_USER); the
   * connection id it answers goes into the attachment given to `accept`.
   */
  protected async register(userId: string): Promise<Refusable<string>> {
    const connId = crypto.randomUUID();
    const registered = await registerSocket(this.env, userId, this.holder(), connId);
    return registered.ok ? { ok: true, value: connId } : registered;
  }

  /** Gives back a place `register` took for a socket that was then refused. */
  protected unregister(userId: string, connId: string): void {
    this.ctx.waitUntil(releaseSocket(this.env, userId, connId));
  }

  /** Accepts a hibernatable socket carrying `att`; answers the client's end for the 101. */
  protected accept(att: A): { client: WebSocket; server: WebSocket } {
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [this.userIdOf(att)]);
    server.serializeAttachment(att);
    return { client, server };
  }

  /** The 101 that hands the client its socket, echoing the subprotocol it authenticated with. */
  protected upgrade(client: WebSocket, protocol: string | null | undefined): Response {
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: protocol ? { "Sec-WebSocket-Protocol": protocol } : {},
    });
  }

  // ---- sockets ----

  /** The attachments of the open sockets, but `exceptConnId`'s. */
  protected attachments(exceptConnId?: string): A[] {
    const out: A[] = [];
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as A | null;
      if (att && att.connId !== exceptConnId) out.push(att);
    }
    return out;
  }

  /** Ids of the user's sockets open here: what HubConnections asks when it heals its count. */
  openSockets(userId: string): string[] {
    return this.ctx.getWebSockets(userId).flatMap((ws) => {
      const att = ws.deserializeAttachment() as A | null;
      return att ? [att.connId] : [];
    });
  }

  /**
   * Sends `text` to every open socket whose attachment passes `to` (all of them without it), but `exceptConnId`'s;
   * `text` may be a function of the receiver (undefined: nothing for that one). Answers how many it was sent to.
   */
  protected sendWhere(
    text: string | ((att: A) => string | undefined),
    to?: (att: A) => boolean,
    exceptConnId?: string,
  ): number {
    let sent = 0;
    for (const ws of this.ctx.getWebSockets()) {
      let out = typeof text === "string" ? text : undefined;
      // Reading an attachment deserialises it: only pay for that when someone is to be skipped or chosen, or the
      // frame depends on who receives it.
      if (to || exceptConnId !== undefined || out === undefined) {
        const att = ws.deserializeAttachment() as A | null;
        if (!att || att.connId === exceptConnId || (to && !to(att))) continue;
        out ??= (text as (att: A) => string | undefined)(att);
        if (out === undefined) continue;
      }
      try {
        ws.send(out);
        sent++;
      } catch {
        // A socket that is closing; its close handler tells the others.
      }
    }
    return sent;
  }

  protected sendError(ws: WebSocket, att: A, code: ErrorCode, message: string, issues?: Issue[]): void {
    try {
      ws.send(this.errorFrame(att, code, message, issues));
    } catch {
      // closing: nobody to tell
    }
  }

  // ---- hibernation handlers ----

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const att = ws.deserializeAttachment() as A | null;
    // Frames still queued behind a close arrive after the close cleared the attachment: nobody to answer.
    if (!att) return;
    const admitted = this.admitFrame(ws, att, message);
    if (admitted === undefined) return;
    this.guarded("message", att, () => this.onFrame(ws, att, admitted), ws);
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    await this.left(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.left(ws);
  }

  // ---- internals ----

  /** What HubConnections records as holding this room's sockets, to find the object again: its name. */
  protected holder(): string {
    return this.roomName;
  }

  /**
   * The checks every client frame passes before its schema: the flood guard first, whatever the frame's size or
   * validity (a stream of oversized or broken frames is as much a flood as one of good ones, and ends in the same
   * 1008 close), then the size, then JSON. Answers the parsed JSON, or undefined when it answered or closed.
   */
  private admitFrame(ws: WebSocket, att: A, message: string | ArrayBuffer): unknown {
    const verdict = this.floods.take(att.connId);
    if (verdict === "close") {
      ws.close(1008, "message rate exceeded");
      return undefined;
    }
    const refusal = this.frameRefusal(verdict === "reject", message);
    if (refusal) {
      this.sendError(ws, att, refusal.error, refusal.message);
      return undefined;
    }
    try {
      return JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message));
    } catch {
      this.sendError(ws, att, "invalid_request", "Frames must be JSON");
      return undefined;
    }
  }

  private frameRefusal(overRate: boolean, message: string | ArrayBuffer) {
    if (overRate) return refuse("rate_limited", `At most ${this.config.messagesPerSecond} frames per second`);
    if (!withinBytes(message, this.config.maxFrameBytes)) {
      return refuse("payload_too_large", `Frames may be at most ${this.config.maxFrameBytes} bytes`);
    }
    return null;
  }

  /**
   * Detaches a closing socket once: clears its attachment (an error then a close must not announce or release
   * twice), forgets its flood guard, completes the close handshake (the runtime answers a close, but not an error),
   * tells the room, and gives its place under the per-user limit back.
   */
  private async left(ws: WebSocket): Promise<void> {
    const att = ws.deserializeAttachment() as A | null;
    if (!att) return;
    try {
      ws.serializeAttachment(null);
    } catch {
      // the runtime no longer keeps attachments for it: no second event can come either
    }
    this.floods.forget(att.connId);
    try {
      ws.close(1000, "bye");
    } catch {
      // already closed
    }
    this.guarded("leave", att, () => this.onLeave(att));
    await releaseSocket(this.env, this.userIdOf(att), att.connId);
  }

  /**
   * Runs a handler so that a bug in it is logged with the socket's context (the request that opened it) and, where
   * the socket is still open, answered with an `internal` error frame, instead of vanishing inside the runtime.
   */
  private guarded(event: string, att: A, run: () => void, ws?: WebSocket): void {
    try {
      run();
    } catch (err) {
      this.log.error("socket handler failed", {
        event,
        connId: att.connId,
        requestId: att.requestId,
        error: err instanceof Error ? err.message : String(err),
      });
      if (ws) this.sendError(ws, att, "internal", "The room could not handle that frame");
    }
  }
}
