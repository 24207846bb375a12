// Where a search's progress is published: its owner's channel and a members-only room of its own.

import { roomStub } from "../hub/rooms";
import type { Env } from "../platform/env";

/** The hub room that carries one search's progress (its owner is its owner and first member). */
export function searchRoom(id: string): string {
  return `search:${id}`;
}

/** Creates the search's room with its owner in it (idempotent: an existing room is left as it is). */
export async function openSearchRoom(env: Env, id: string, owner: string): Promise<void> {
  const room = searchRoom(id);
  await roomStub(env, room).create(owner);
}
