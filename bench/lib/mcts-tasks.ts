// The synthetic benchmark for bench:mcts: generated tasks with hidden test cases, simulated models, exact scores.
// Fixed before any algorithm was run on it; the numbers it prints are reported as they come out.
//
// A task has L = 10 test cases; an answer's score is the fraction it passes (exact, no noise), and the task is
// solved when an answer passes all of them. Per task, each model m has its own competence c(m,t) (a fresh answer
// passes each test independently with that probability) and its own refinement skill r(m,t): a refinement passes
// 1–2 more tests with probability 0.5·r, 1–2 fewer with probability 0.25, and is unchanged otherwise.
// Both come from logistic(base(m) + N(0, 1.5²)) per task, so which model is best varies from task to task.
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
}

export function makeTask(rng: Random): SimTask {
  const task: SimTask = { competence: {}, refinement: {} };
  for (const m of SIM_MODELS) {
    task.competence[m.name] = logistic(m.competence + rng.normal(0, 1.5));
    task.refinement[m.name] = logistic(m.refinement + rng.normal(0, 1.5));
  }
  return task;
}

/** A fresh answer: how many tests it passes. */
export function generate(task: SimTask, model: string, rng: Random): number {
  const c = task.competence[model] as number;
  let passed = 0;
  for (let i = 0; i < TESTS_PER_TASK; i++) if (rng.next() < c) passed++;
  return passed;
}

/** A refinement of an answer that passes `passed` tests. */
export function refine(task: SimTask, model: string, passed: number, rng: Random): number {
  const r = task.refinement[model] as number;
  const u = rng.next();
  const step = 1 + (rng.next() < 0.5 ? 1 : 0);
  if (u < 0.5 * r) return Math.min(TESTS_PER_TASK, passed + step);
  if (u < 0.5 * r + 0.25) return Math.max(0, passed - step);
  return passed;
}
