// Analytics events (docs/analytics.md): the schema POST /v1/events checks, the queue message that carries a batch,
// and the EVENTS consumer that hands batches to the writer.
import { z } from "zod";
import type { Env } from "../platform/env";
import { createLogger } from "../platform/log";
import { PLATFORM_EVENT_PREFIX } from "./record";
import { analyticsWriter } from "./writer";

export const EVENT_LIMITS = {
  eventsPerBatch: 100,
  propsPerEvent: 20,
  propKeyChars: 40,
  propStringChars: 256,
  /** A batch's request body; it keeps one queue message under the platform's 128 KB. */
  bodyBytes: 64 * 1024,
  /** How far in the past (ms) a client may date an event, and how far in the future (clock skew). */
  maxAgeMs: 7 * 24 * 3600 * 1000,
  maxSkewMs: 5 * 60 * 1000,
} as const;

const PropValue = z.union([z.string().max(EVENT_LIMITS.propStringChars), z.number().finite(), z.boolean(), z.null()]);

const ClientEvent = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_.:-]{0,63}$/, "lower-case letters, digits and . _ : - (at most 64), starting with a letter")
      .refine(
        (name) => !name.startsWith(PLATFORM_EVENT_PREFIX),
        `names starting ${PLATFORM_EVENT_PREFIX} are Tessera's own`,
      ),
    at: z.iso.datetime({ offset: true }).optional().describe("When it happened (RFC 3339); default: on arrival"),
    value: z.number().finite().optional(),
    props: z
      .record(z.string().min(1).max(EVENT_LIMITS.propKeyChars), PropValue)
      .refine((p) => Object.keys(p).length <= EVENT_LIMITS.propsPerEvent, {
        message: `at most ${EVENT_LIMITS.propsPerEvent} props`,
      })
      .optional(),
  })
  .strict();
type ClientEvent = z.infer<typeof ClientEvent>;

export const EventsBody = z.object({ events: z.array(ClientEvent).min(1).max(EVENT_LIMITS.eventsPerBatch) }).strict();

/** An event as stored: who sent it is set by the server, never by the client. */
export const StoredEvent = z.object({
  id: z.string(),
  at: z.number().int(),
  name: z.string(),
  userId: z.string().nullable(),
  credentialId: z.string().nullable(),
  value: z.number().nullable(),
  props: z.record(z.string(), PropValue),
});
export type StoredEvent = z.infer<typeof StoredEvent>;

export const EventsMessage = z.object({ kind: z.literal("analytics.events"), events: z.array(StoredEvent) });
export type EventsMessage = z.infer<typeof EventsMessage>;

/** A client batch stamped with its sender and ids; an event dated outside the accepted window is an issue. */
export function stampEvents(
  events: ClientEvent[],
  sender: { userId: string | null; credentialId: string | null },
  now = Date.now(),
): { events: StoredEvent[]; badIndexes: number[] } {
  const badIndexes: number[] = [];
  const stamped = events.map((e, i) => {
    const at = e.at ? Date.parse(e.at) : now;
    if (at < now - EVENT_LIMITS.maxAgeMs || at > now + EVENT_LIMITS.maxSkewMs) badIndexes.push(i);
    return {
      id: crypto.randomUUID(),
      at,
      name: e.name,
      userId: sender.userId,
      credentialId: sender.credentialId,
      value: e.value ?? null,
      props: e.props ?? {},
    };
  });
  return { events: stamped, badIndexes };
}

/** The EVENTS consumer: every batch in the delivery written at once; the ids make a redelivery harmless. */
export async function consumeEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const events: StoredEvent[] = [];
  for (const message of batch.messages) {
    const parsed = EventsMessage.safeParse(message.body);
    if (parsed.success) events.push(...parsed.data.events);
  }
  try {
    await analyticsWriter(env).writeEvents(events);
    batch.ackAll();
  } catch (err) {
    createLogger("info", { queue: batch.queue }).warn("analytics batch failed; will retry", {
      events: events.length,
      error: err instanceof Error ? err.message : String(err),
    });
    batch.retryAll({ delaySeconds: 5 });
  }
}
