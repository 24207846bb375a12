// The end of a hub socket, shared by the rooms and the legacy /ws hub.
import type { FloodGuards } from "./hub-flood";

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
