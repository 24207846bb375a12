// Managed searches' calls to the LLM router (docs/orchestration.md, "Managed mode"): a fresh answer or a refinement
// of an earlier one (the prompt carries the parent answer and its score and feedback), and the llm-judge scorer
// (a rubric scored by a model, the number read back robustly). Each call reports the tokens it used.
import { completeChat, type LlmCaller, type WaitUntil } from "../llm/complete";
import type { Env } from "../platform/env";

/** The most characters of a judge's reasoning kept as a node's feedback (shown to the model that refines it). */
export const MAX_FEEDBACK_CHARS = 2000;

export interface Generated {
  text: string;
  /** prompt + completion tokens, as the router reported them (or estimated them). */
  tokens: number;
}

export interface Parent {
  answer: string;
  score: number;
  feedback: string | null;
}

const SYSTEM_GENERATE =
  "You solve the user's task. Answer with the answer only, no preamble. When you are shown an earlier attempt, " +
  "write an improved, complete answer (not a diff).";

/** The user message for a fresh answer (no parent) or for a refinement of `parent`. */
export function generationPrompt(task: string, parent: Parent | null): string {
  if (!parent) return `Task:\n${task}`;
  const feedback = parent.feedback ? `\nFeedback on it:\n${parent.feedback}\n` : "";
  return (
    `Task:\n${task}\n\nAn earlier attempt, which scored ${parent.score.toFixed(3)} out of 1:\n` +
    `<answer>\n${parent.answer}\n</answer>\n${feedback}\nWrite a better answer to the task.`
  );
}

const SYSTEM_JUDGE =
  "You grade an answer to a task against a rubric. Explain briefly, then end with a last line of the form " +
  '"Score: X" where X is a number from 0 (wrong) to 1 (fully right).';

export function judgePrompt(task: string, rubric: string, answer: string): string {
  return `Task:\n${task}\n\nRubric:\n${rubric}\n\nAnswer to grade:\n<answer>\n${answer}\n</answer>`;
}

/**
 * The score in a judge's reply, in [0, 1], or null if there is none. Read, in order: the last "score: X" (X a
 * decimal, a fraction "a/b" or a percentage "n%"), else the last fraction or percentage anywhere, else a reply that
 * is only a number. A decimal must lie in [0, 1] (a "7" is ambiguous: 7 of 10? of 100?), a fraction's denominator
 * must be positive and at least its numerator.
 */
export function parseJudgeScore(reply: string): number | null {
  const num = String.raw`(\d+(?:\.\d+)?|\.\d+)`;
  const value = (n: string, den?: string, pct?: string): number | null => {
    const x = Number(n);
    if (pct) return x <= 100 ? x / 100 : null;
    if (den !== undefined) {
      const d = Number(den);
      return d > 0 && x <= d ? x / d : null;
    }
    return x >= 0 && x <= 1 ? x : null;
  };
  const lastOf = (re: RegExp): RegExpExecArray | null => {
    let last: RegExpExecArray | null = null;
    for (const m of reply.matchAll(re)) last = m;
    return last;
  };
  const labelled = lastOf(new RegExp(String.raw`score\s*(?:is|of|[:=])?\s*\**\s*${num}\s*(?:\/\s*${num}|(%))?`, "gi"));
  if (labelled) return value(labelled[1] as string, labelled[2], labelled[3]);
  const fraction = lastOf(new RegExp(String.raw`${num}\s*(?:\/\s*${num}|(%))`, "g"));
  if (fraction) return value(fraction[1] as string, fraction[2], fraction[3]);
  const bare = new RegExp(String.raw`^\s*${num}\s*$`).exec(reply);
  return bare ? value(bare[1] as string) : null;
}

async function chat(
  env: Env,
  ctx: WaitUntil,
  caller: LlmCaller,
  model: string,
  system: string,
  user: string,
  signal: AbortSignal,
  temperature?: number,
): Promise<Generated> {
  const completion = await completeChat(
    env,
    ctx,
    caller,
    {
      model,
      messages: [
        { role: "system", content: system },
        { role: "user", content: user },
      ],
      ...(temperature === undefined ? {} : { temperature }),
    },
    // A search wants fresh samples: the same prompt twice must not be one cached answer.
    { signal, noCache: true },
  );
  const content = completion.choices[0]?.message?.content;
  return {
    text: typeof content === "string" ? content : "",
    tokens: completion.usage?.total_tokens ?? 0,
  };
}

/** One candidate answer from `model`: fresh from the task, or a refinement of `parent`. */
export function generateAnswer(
  env: Env,
  ctx: WaitUntil,
  caller: LlmCaller,
  model: string,
  task: string,
  parent: Parent | null,
  signal: AbortSignal,
): Promise<Generated> {
  return chat(env, ctx, caller, model, SYSTEM_GENERATE, generationPrompt(task, parent), signal);
}

/** The llm-judge scorer: the judge's score (0 when its reply holds none) and its reasoning as feedback. */
export async function judgeAnswer(
  env: Env,
  ctx: WaitUntil,
  caller: LlmCaller,
  judge: { model: string; rubric: string },
  task: string,
  answer: string,
  signal: AbortSignal,
): Promise<{ score: number; feedback: string; tokens: number; parsed: boolean }> {
  const reply = await chat(
    env,
    ctx,
    caller,
    judge.model,
    SYSTEM_JUDGE,
    judgePrompt(task, judge.rubric, answer),
    signal,
    0,
  );
  const score = parseJudgeScore(reply.text);
  return {
    score: score ?? 0,
    parsed: score !== null,
    feedback: reply.text.slice(0, MAX_FEEDBACK_CHARS),
    tokens: reply.tokens,
  };
}
