// PLACEHOLDER replaced at merge with the LLM router call (see /tmp/synthesize.ts.pending).
import type { Env } from "../platform/env";
import type { ModalityResult } from "./model";
import type { FusionPlan } from "./plan";
import type { SynthesisAnswer } from "./synthesis";

export type SynthesisOutcome =
  | { status: "done"; model: string; answer: SynthesisAnswer }
  | { status: "skipped" | "failed"; reason: string };

export async function synthesize(
  _env: Env,
  _state: { waitUntil(promise: Promise<unknown>): void },
  _plan: FusionPlan,
  _modalities: ModalityResult[],
): Promise<SynthesisOutcome> {
  return { status: "skipped", reason: "pending merge" };
}
