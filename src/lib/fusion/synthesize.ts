// Synthesis through the LLM router (never straight to a provider): one completion with the evidence prompt,
// JSON asked for. No model named, or no route for it: skipped, and the result still has every finding and the
// rule connections (docs/fusion.md).
import { completeChat } from "../llm/complete";
import type { Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import type { ModalityResult } from "./model";
import type { FusionPlan } from "./plan";
import { evidencePrompt, parseSynthesis, SYSTEM_PROMPT, type SynthesisAnswer } from "./synthesis";

type SynthesisOutcome =
  | { status: "done"; model: string; answer: SynthesisAnswer }
  | { status: "skipped" | "failed"; reason: string };

export async function synthesize(
  env: Env,
  state: { waitUntil(promise: Promise<unknown>): void },
  plan: FusionPlan,
  modalities: ModalityResult[],
): Promise<SynthesisOutcome> {
  if (!plan.model) return { status: "skipped", reason: "no chat model was named (`model`)" };
  if (!modalities.some((m) => m.status === "ok")) return { status: "skipped", reason: "no input gave findings" };
  // The router keeps its usage writes alive past the call through the object's own waitUntil.
  const ctx = { waitUntil: (p: Promise<unknown>) => state.waitUntil(p) };
  try {
    const completion = await completeChat(
      env,
      ctx,
      { userId: plan.owner, roles: plan.roles },
      {
        model: plan.model,
        messages: [
          { role: "system", content: SYSTEM_PROMPT },
          { role: "user", content: evidencePrompt(modalities, plan.question) },
        ],
        temperature: 0,
        response_format: { type: "json_object" },
      },
    );
    const content = completion.choices[0]?.message?.content;
    const answer = typeof content === "string" ? parseSynthesis(content, modalities.length) : null;
    if (!answer) return { status: "failed", reason: "the model's answer was not the JSON asked for" };
    return { status: "done", model: plan.model, answer };
  } catch (err) {
    if (err instanceof ApiError && err.code === "not_found") {
      return { status: "skipped", reason: `no LLM route serves "${plan.model}"` };
    }
    if (err instanceof ApiError) return { status: "failed", reason: err.message };
    throw err;
  }
}
