// The synthetic benchmarks for bench:mcts: generated tasks with hidden test cases, simulated models, exact scores.
// Each task set was fixed before any algorithm was run on it; the numbers it prints are reported as they come out.
//
// Common to both sets: a task has L = 10 test cases; an answer's score is the fraction it passes (exact, no noise),
// and the task is solved when an answer passes all of them. Per task, each model m has its own competence c(m,t) (a
// fresh answer passes each test independently with that probability) and its own refinement skill r(m,t): a
// refinement passes 1–2 more tests with probability 0.5·r, 1–2 fewer with probability 0.25, and is unchanged
// otherwise. Both come from logistic(base(m) + N(0, 1.5²)) per task, so which model is best varies from task to task.
//
// "walk" (the first set): nothing else. Every answer can be refined to a full pass, so one long refinement chain is a
// random walk with success absorbing.
//
// "approach" (the second set, written after the first set's results were known and before any run on it; see
// docs/benchmarks.md "bench:mcts"): every fresh answer also takes an approach, sound with probability v(m,t) =
// logistic(N(0, 1.5²)) per model and task, otherwise flawed. A flawed approach has a ceiling drawn uniformly from
// L/2 … L−1: it cannot pass more tests than that however it is refined (the cases its design cannot handle), while
// it still looks like a good answer. A refinement keeps its parent's approach. This is the failure that repeated
// refinement of one answer cannot escape and that going wider can: the trade-off the paper's title names.
import type { Random } from "../../src/lib/orchestration/random";

export const TESTS_PER_TASK = 10;

export interface SimModel {
  name: string;
  /** Base logit of its competence and of its refinement skill. */
  competence: number;
  refinement: number;
}

export const SIM_MODELS: SimModel[] = [
  { name: "model-a", competence: -0.2, refinement: 0 },
  { name: "model-b", competence: -0.4, refinement: 0.2 },
  { name: "model-c", competence: -0.6, refinement: 0.4 },
];

const logistic = (x: number) => 1 / (1 + Math.exp(-x));

export interface SimTask {
  competence: Record<string, number>;
  refinement: Record<string, number>;
  /** The probability that a model's fresh answer takes a sound approach (1 in the "walk" set). */
  soundness: Record<string, number>;
}

/** One answer: how many tests it passes, and the most its approach can ever pass. */
export interface SimAnswer {
  passed: number;
  ceiling: number;
}

export interface TaskSet {
  name: string;
  makeTask(rng: Random): SimTask;
}

function drawTask(rng: Random, withSoundness: boolean): SimTask {
  const task: SimTask = { competence: {}, refinement: {}, soundness: {} };
  for (const m of SIM_MODELS) {
    task.competence[m.name] = logistic(m.competence + rng.normal(0, 1.5));
    task.refinement[m.name] = logistic(m.refinement + rng.normal(0, 1.5));
  }
  // Drawn after the other two, so the "walk" set's tasks are exactly those it always had.
  for (const m of SIM_MODELS) task.soundness[m.name] = withSoundness ? logistic(rng.normal(0, 1.5)) : 1;
  return task;
}

export const TASK_SETS: Record<string, TaskSet> = {
  walk: { name: "walk", makeTask: (rng) => drawTask(rng, false) },
  approach: { name: "approach", makeTask: (rng) => drawTask(rng, true) },
};

/** A fresh answer from `model`. */
export function generate(task: SimTask, model: string, rng: Random): SimAnswer {
  const c = task.competence[model] as number;
  const sound = task.soundness[model] as number;
  // The "walk" set draws nothing here, so its random stream is unchanged.
  const ceiling =
    sound >= 1 || rng.next() < sound
      ? TESTS_PER_TASK
      : TESTS_PER_TASK / 2 + Math.floor(rng.next() * (TESTS_PER_TASK / 2));
  let passed = 0;
  for (let i = 0; i < TESTS_PER_TASK; i++) if (rng.next() < c) passed++;
  return { passed: Math.min(passed, ceiling), ceiling };
}

/** `model`'s refinement of `answer`: the same approach, so never past its ceiling. */
export function refine(task: SimTask, model: string, answer: SimAnswer, rng: Random): SimAnswer {
  const r = task.refinement[model] as number;
  const u = rng.next();
  const step = 1 + (rng.next() < 0.5 ? 1 : 0);
  let passed = answer.passed;
  if (u < 0.5 * r) passed = Math.min(answer.ceiling, passed + step);
  else if (u < 0.5 * r + 0.25) passed = Math.max(0, passed - step);
  return { passed, ceiling: answer.ceiling };
}
