// Everything that crosses a process boundary is described here as zod schemas (DESIGN.md).
// The GPU worker imports this file too, so it must stay free of Worker-only APIs.
import { z } from "zod";

/** A message on the GPU_JOBS queue. Later issues add the job kinds to this union. */
export const QueueMessage = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("health.ping"), sentAt: z.number().int() }),
]);
export type QueueMessage = z.infer<typeof QueueMessage>;
