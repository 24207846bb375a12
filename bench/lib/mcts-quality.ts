// bench:mcts's quality half: every algorithm on the same generated tasks at equal generation budgets.

import { Random } from "../../src/lib/orchestration/random";
import { type Algorithm, Search } from "../../src/lib/orchestration/search";
import { generate, refine, SIM_MODELS, type SimAnswer, type SimTask, type TaskSet, TESTS_PER_TASK } from "./mcts-tasks";

export interface Variant {
  label: string;
  algorithm: Algorithm;
  models: string[];
  /** AB-MCTS-M's TreeQuest pruning (default on). */
  prune?: boolean;
}

/** One search on one task: whether it found an answer passing every test within `budget` generations. */
export function solve(task: SimTask, variant: Variant, budget: number, seed: number): boolean {
  const search = Search.create({
    algorithm: variant.algorithm,
    models: variant.models,
    maxNodes: budget,
    seed,
    prune: variant.prune,
  });
  const world = Random.seeded(seed ^ 0x5eed);
  const answers = new Map<number, SimAnswer>();
  for (let ask = search.ask(); ask; ask = search.ask()) {
    const answer =
      ask.parent === 0
        ? generate(task, ask.model, world)
        : refine(task, ask.model, answers.get(ask.parent) as SimAnswer, world);
    answers.set(ask.ticket, answer);
    // The search sees the score only, never the approach's ceiling.
    search.tell(ask.ticket, String(answer.passed), answer.passed / TESTS_PER_TASK);
    if (answer.passed === TESTS_PER_TASK) return true;
  }
  return false;
}

/** Wilson score interval (95 %) for k successes in n. */
export function wilson(k: number, n: number): [number, number] {
  const z = 1.96;
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export interface QualityRow {
  label: string;
  budget: number;
  /** Pooled over every seed's tasks. */
  solved: number;
  tasks: number;
  rate: number;
  ci: [number, number];
  /** The success rate on each seed's own task set, in the order of the seeds. */
  perSeed: number[];
}

/** Every variant at every budget on `tasks` tasks of `taskSet` generated per seed (a fresh task set for each seed), pooled. */
export function runQuality(
  taskSet: TaskSet,
  variants: Variant[],
  budgets: number[],
  tasks: number,
  seeds: number[],
): QualityRow[] {
  const sets = seeds.map((seed) => {
    const taskRng = Random.seeded(seed);
    return { seed, tasks: Array.from({ length: tasks }, () => taskSet.makeTask(taskRng)) };
  });
  const rows: QualityRow[] = [];
  for (const budget of budgets) {
    for (const variant of variants) {
      const perSeed = sets.map(({ seed, tasks: set }) => {
        let solved = 0;
        set.forEach((task, i) => {
          if (solve(task, variant, budget, seed * 7919 + i)) solved++;
        });
        return solved;
      });
      const solved = perSeed.reduce((a, b) => a + b, 0);
      const n = tasks * seeds.length;
      rows.push({
        label: variant.label,
        budget,
        solved,
        tasks: n,
        rate: solved / n,
        ci: wilson(solved, n),
        perSeed: perSeed.map((k) => k / tasks),
      });
    }
  }
  return rows;
}

export const ALL_MODELS = SIM_MODELS.map((m) => m.name);
