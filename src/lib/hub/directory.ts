// The hub's room directory (durable-objects/hub-directory.ts): rooms report what they hold, the admin console lists
// them. Reporting never fails a socket: the directory is a view, and the room's next report corrects a lost one.
import { z } from "zod";
import type { Env } from "../platform/env";

export const HubRoomSummary = z.object({
  room: z.string(),
  /** Distinct users with a socket open. */
  online: z.number().int(),
  sockets: z.number().int(),
  /** A members-only room's owner; null for public: and user: rooms. */
  owner: z.string().nullable(),
  members: z.number().int(),
  lastSeq: z.number().int(),
});
export type HubRoomSummary = z.infer<typeof HubRoomSummary>;

/** Rooms one listing returns at most. */
export const HUB_DIRECTORY_LIST_LIMIT = 500;

export function hubDirectory(env: Env) {
  return env.HUB_DIRECTORY.get(env.HUB_DIRECTORY.idFromName("directory"));
}

export async function reportRoom(env: Env, room: HubRoomSummary): Promise<void> {
  try {
    await hubDirectory(env).report(room);
  } catch {
    // best effort: see above
  }
}
