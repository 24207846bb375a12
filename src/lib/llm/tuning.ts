// Adaptive parameters (docs/llm.md "Tuning"): Thompson sampling over a few sampling presets per (task, model).
// Each arm keeps a Beta posterior over "this preset gives a good answer": feedback scores (0..1) are full
// observations; a failed call is a full failure; a success's latency is a weak observation (LATENCY_WEIGHT), so
// a slow preset loses a little even before anyone scores it. Pure logic here; the state lives in the LlmTuner
// Durable Object (durable-objects/llm-tuner.ts).
import type { ParsedChatRequest, SamplingParams } from "./openai-shapes";

export const TASKS = [
  "code_generation",
  "code_review",
  "explanation",
  "summarization",
  "translation",
  "creative",
  "analysis",
  "question_answering",
  "conversation",
  "reasoning",
  "general",
] as const;
type Task = (typeof TASKS)[number];

export interface Preset {
  name: string;
  params: Required<Omit<SamplingParams, "max_tokens">> & { max_tokens: number };
}

export const PRESETS: readonly Preset[] = [
  {
    name: "precise",
    params: { temperature: 0.1, top_p: 0.9, max_tokens: 1024, presence_penalty: 0, frequency_penalty: 0 },
  },
  {
    name: "focused",
    params: { temperature: 0.3, top_p: 0.9, max_tokens: 1024, presence_penalty: 0, frequency_penalty: 0.2 },
  },
  {
    name: "balanced",
    params: { temperature: 0.7, top_p: 0.95, max_tokens: 1024, presence_penalty: 0, frequency_penalty: 0 },
  },
  {
    name: "creative",
    params: { temperature: 1.0, top_p: 1, max_tokens: 1536, presence_penalty: 0.4, frequency_penalty: 0.2 },
  },
  {
    name: "exploratory",
    params: { temperature: 1.3, top_p: 1, max_tokens: 1536, presence_penalty: 0.6, frequency_penalty: 0.4 },
  },
];

/** How much one success's latency counts against a full feedback score. */
const LATENCY_WEIGHT = 0.2;
/** The latency at which that weak observation is half good, half bad. */
const LATENCY_HALF_MS = 5000;

export interface Arm {
  alpha: number;
  beta: number;
  pulls: number;
  feedback: number;
  errors: number;
}

export const freshArm = (): Arm => ({ alpha: 1, beta: 1, pulls: 0, feedback: 0, errors: 0 });

/** The old service's keyword classifier, kept for callers that name no task. */
const KEYWORDS: [Task, RegExp][] = [
  ["code_review", /\b(review|refactor|bug|lint|code smell)\b/i],
  [
    "code_generation",
    /\b(write|implement|function|class|script|code|program)\b.*\b(code|function|class|python|typescript|javascript|rust|go|sql)\b|```/i,
  ],
  ["translation", /\btranslat(e|ion)\b|\bin (french|german|spanish|japanese|chinese|italian)\b/i],
  ["summarization", /\b(summari[sz]e|summary|tl;?dr|condense)\b/i],
  ["creative", /\b(story|poem|lyrics|creative|imagine|fiction)\b/i],
  ["reasoning", /\b(prove|step by step|reason|logic|puzzle|deduce)\b/i],
  ["analysis", /\b(analy[sz]e|analysis|compare|evaluate|assess)\b/i],
  ["explanation", /\b(explain|why does|how does|what is the difference)\b/i],
  ["question_answering", /\?\s*$|^(who|what|when|where|which|how many)\b/i],
  ["conversation", /\b(hi|hello|hey|thanks|how are you)\b/i],
];

export function classifyTask(prompt: string): Task {
  for (const [task, pattern] of KEYWORDS) if (pattern.test(prompt)) return task;
  return "general";
}

/** The last user message's text: what the classifier reads. */
export function promptText(request: Pick<ParsedChatRequest, "messages">): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const m = request.messages[i];
    if (m?.role !== "user") continue;
    if (typeof m.content === "string") return m.content;
    return m.content.map((p) => (p.type === "text" ? p.text : "")).join(" ");
  }
  return "";
}

/** A Gamma(k, 1) draw (Marsaglia–Tsang; boosted for k < 1). */
function gamma(k: number, random: () => number): number {
  if (k < 1) return gamma(k + 1, random) * random() ** (1 / k);
  const d = k - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      // Box–Muller normal
      const u1 = random() || Number.MIN_VALUE;
      x = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * random());
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

function betaSample(alpha: number, beta: number, random: () => number = Math.random): number {
  const a = gamma(alpha, random);
  return a / (a + gamma(beta, random));
}

/** Thompson sampling: one draw from each arm's posterior, the highest wins. */
export function chooseArm(arms: readonly Arm[], random: () => number = Math.random): number {
  let best = 0;
  let bestDraw = -1;
  arms.forEach((arm, i) => {
    const draw = betaSample(arm.alpha, arm.beta, random);
    if (draw > bestDraw) {
      bestDraw = draw;
      best = i;
    }
  });
  return best;
}

export type Outcome = { kind: "feedback"; score: number } | { kind: "latency"; ms: number } | { kind: "error" };

export function observe(arm: Arm, outcome: Outcome): Arm {
  switch (outcome.kind) {
    case "feedback": {
      const s = Math.min(1, Math.max(0, outcome.score));
      return { ...arm, alpha: arm.alpha + s, beta: arm.beta + 1 - s, feedback: arm.feedback + 1 };
    }
    case "latency": {
      const good = LATENCY_HALF_MS / (LATENCY_HALF_MS + Math.max(0, outcome.ms));
      return { ...arm, alpha: arm.alpha + LATENCY_WEIGHT * good, beta: arm.beta + LATENCY_WEIGHT * (1 - good) };
    }
    case "error":
      return { ...arm, beta: arm.beta + 1, errors: arm.errors + 1 };
  }
}

/**
 * The preset's parameters clipped to the caller's own: a value the caller set is kept as is (their constraint
 * wins), and max_tokens never exceeds the caller's max_tokens / max_completion_tokens.
 */
export function applyPreset(request: ParsedChatRequest, preset: Preset): SamplingParams {
  const own = (v: number | null | undefined) => (v === null || v === undefined ? undefined : v);
  const cap = own(request.max_completion_tokens) ?? own(request.max_tokens);
  return {
    temperature: own(request.temperature) ?? preset.params.temperature,
    top_p: own(request.top_p) ?? preset.params.top_p,
    presence_penalty: own(request.presence_penalty) ?? preset.params.presence_penalty,
    frequency_penalty: own(request.frequency_penalty) ?? preset.params.frequency_penalty,
    max_tokens: cap === undefined ? preset.params.max_tokens : Math.min(cap, preset.params.max_tokens),
  };
}
