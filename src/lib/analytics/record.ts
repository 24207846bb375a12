// Tessera's own analytics events (job outcomes; LLM usage once the router records it), written straight through
// the writer: they come from trusted code, one at a time, so they skip the EVENTS queue.
import type { Env } from "../platform/env";
import type { StoredEvent } from "./events";
import { analyticsWriter } from "./writer";

/** Client event names may not start with this: the platform's own figures cannot be forged through /v1/events. */
export const PLATFORM_EVENT_PREFIX = "tessera.";

export const PLATFORM_EVENTS = {
  /** value = ms from submission to completion; props.type = the job type. */
  jobCompleted: "tessera.job.completed",
  /** value = ms from submission to the last failure; props.type. */
  jobDead: "tessera.job.dead",
  /** For the LLM router: value = tokens used; props.model (and props.inputTokens, props.outputTokens). */
  llmUsage: "tessera.llm.usage",
} as const;

type PlatformEventName = (typeof PLATFORM_EVENTS)[keyof typeof PLATFORM_EVENTS];

/** Records one platform event; `id` should be stable for the occurrence, so a repeat is not counted twice. */
export function recordPlatformEvent(
  env: Env,
  event: { id: string; name: PlatformEventName; userId: string | null; value: number; props: StoredEvent["props"] },
): Promise<void> {
  return analyticsWriter(env).writeEvents([{ ...event, at: Date.now(), credentialId: null }]);
}
