// The end of a hub socket, shared by the rooms and the legacy /ws hub.

import type { FloodGuards } from "./flood";
import { withinBytes } from "./rooms";

/**
 * Detaches a closing socket once: clears its attachment (an error then a close must not announce or release twice),
 * forgets its flood guard and completes the close handshake (the runtime answers a close, but not an error).
 * Answers the attachment it had, or null when it was already detached.
 */
export function detachSocket<A extends { connId: string }>(ws: WebSocket, floods: FloodGuards): A | null {
  const att = ws.deserializeAttachment() as A | null;
  if (!att) return null;
  try {
    ws.serializeAttachment(null);
  } catch {
    // the runtime no longer keeps attachments for it: no second event can come either
  }
  floods.forget(att.connId);
  try {
    ws.close(1000, "bye");
  } catch {
    // already closed
  }
  return att;
}

/** The 101 that hands the client its socket, echoing the subprotocol it authenticated with. */
export function upgradeResponse(client: WebSocket, protocol: string | null | undefined): Response {
  return new Response(null, {
    status: 101,
    webSocket: client,
    headers: protocol ? { "Sec-WebSocket-Protocol": protocol } : {},
  });
}

interface FrameLimits {
  messagesPerSecond: number;
  maxFrameBytes: number;
}

/** Why a frame was not taken: the caller answers it with an error frame in its own protocol's shape. */
interface FrameRefusal {
  code: "rate_limited" | "payload_too_large" | "invalid_request";
  message: string;
}

/**
 * The checks every client frame passes before its schema: the flood guard first, whatever the frame's size or
 * validity (a stream of oversized or broken frames is as much a flood as one of good ones, and ends in the same
 * 1008 close), then the size, then JSON. Answers the parsed JSON, a refusal, or "closed" when it closed the socket.
 */
export function admitFrame(
  ws: WebSocket,
  connId: string,
  message: string | ArrayBuffer,
  floods: FloodGuards,
  limits: FrameLimits,
): { json: unknown } | FrameRefusal | "closed" {
  const verdict = floods.take(connId);
  if (verdict === "close") {
    ws.close(1008, "message rate exceeded");
    return "closed";
  }
  if (verdict === "reject") {
    return { code: "rate_limited", message: `At most ${limits.messagesPerSecond} frames per second` };
  }
  if (!withinBytes(message, limits.maxFrameBytes)) {
    return { code: "payload_too_large", message: `Frames may be at most ${limits.maxFrameBytes} bytes` };
  }
  try {
    return { json: JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message)) };
  } catch {
    return { code: "invalid_request", message: "Frames must be JSON" };
  }
}
