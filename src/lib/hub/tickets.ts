// Single-use, one-minute WebSocket tickets, for browsers (which cannot set headers on a WebSocket):
// the client swaps its access token for a ticket and puts the ticket, never the token, in the URL.

import { newSecret, sha256Hex } from "../identity/tokens";
import type { Env } from "../platform/env";
import type { HubTicketHolder } from "./frames";

export const HUB_TICKET_TTL_SECONDS = 60;
/** Tickets are spread over this many objects by the first hex digit of their hash. */
const SHARDS = 16;

function shard(env: Env, hash: string) {
  const n = Number.parseInt(hash.slice(0, 1), 16) % SHARDS;
  return env.HUB_TICKETS.get(env.HUB_TICKETS.idFromName(`tickets-${n}`));
}

export async function issueHubTicket(env: Env, holder: HubTicketHolder): Promise<string> {
  const { secret, hash } = await newSecret("hubt_");
  await shard(env, hash).issue(hash, holder, HUB_TICKET_TTL_SECONDS * 1000);
  return secret;
}

/** The ticket's holder, or null when it is unknown, used or expired. A ticket works once. */
export async function redeemHubTicket(env: Env, ticket: string): Promise<HubTicketHolder | null> {
  const hash = await sha256Hex(ticket);
  return shard(env, hash).redeem(hash);
}
