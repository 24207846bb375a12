// The old parameter service's feedback (`POST /api/v1/feedback` with `task_id` and `quality_score`), applied to the
// tuner. The path is shared with the old AB-MCTS service's feedback; functions/legacy/ab-mcts.ts tells the two
// bodies apart and hands this shape here (docs/legacy.md).
import { z } from "zod";
import type { Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import { tuner } from "./tuner";

export const LegacyParameterFeedback = z.object({
  task_id: z.string().min(1).max(128),
  quality_score: z.number().min(0).max(1),
  error_occurred: z.boolean().optional(),
  parameters_used: z.unknown().optional(),
  task_type: z.string().optional(),
  latency_ms: z.number().optional(),
  token_count: z.number().optional(),
  cost_estimate: z.number().optional(),
  user_satisfaction: z.number().optional(),
  timestamp: z.unknown().optional(),
});

export async function applyParameterFeedback(
  env: Env,
  userId: string,
  body: z.output<typeof LegacyParameterFeedback>,
): Promise<{ status: "accepted"; message: string }> {
  if (body.error_occurred) await tuner(env).outcome(body.task_id, { kind: "error" });
  const result = await tuner(env).feedback(body.task_id, userId, body.quality_score);
  // The old service's words for the same refusals: its clients know a task, not a completion.
  if (!result.ok && result.error === "not_found") {
    throw new ApiError("not_found", "No parameters of yours with that task_id");
  }
  if (!result.ok) throw new ApiError(result.error, "That task has already been scored");
  return { status: "accepted", message: "Feedback applied to the tuner" };
}
