// bench:mcts's task sets (bench/lib/mcts-tasks.ts) do what docs/benchmarks.md says they do: the benchmark's claims
// rest on these properties, so they are checked here rather than trusted.
import { describe, expect, it } from "vitest";
import { generate, refine, SIM_MODELS, type SimAnswer, TASK_SETS, TESTS_PER_TASK } from "../../bench/lib/mcts-tasks";
import { Random } from "../../src/lib/orchestration/random";

const MODEL = (SIM_MODELS[0] as { name: string }).name;

/** A chain of `length` refinements from one fresh answer; every answer along it. */
function chain(set: keyof typeof TASK_SETS, seed: number, length: number): SimAnswer[] {
  const rng = Random.seeded(seed);
  const task = (TASK_SETS[set] as (typeof TASK_SETS)[string]).makeTask(rng);
  const answers = [generate(task, MODEL, rng)];
  for (let i = 0; i < length; i++) answers.push(refine(task, MODEL, answers.at(-1) as SimAnswer, rng));
  return answers;
}

describe("bench:mcts task sets", () => {
  it('"walk": every answer can reach a full pass, and a long chain usually does', () => {
    let solved = 0;
    for (let seed = 0; seed < 200; seed++) {
      const answers = chain("walk", seed, 400);
      expect(answers.every((a) => a.ceiling === TESTS_PER_TASK)).toBe(true);
      if (answers.some((a) => a.passed === TESTS_PER_TASK)) solved++;
    }
    expect(solved).toBeGreaterThan(100);
  });

  it('"approach": a refinement keeps its parent\'s ceiling and never passes it; a flawed approach is never solved', () => {
    let flawed = 0;
    for (let seed = 0; seed < 200; seed++) {
      const answers = chain("approach", seed, 400);
      const [first] = answers as [SimAnswer];
      expect(answers.every((a) => a.ceiling === first.ceiling && a.passed <= a.ceiling && a.passed >= 0)).toBe(true);
      if (first.ceiling < TESTS_PER_TASK) {
        flawed++;
        expect(first.ceiling).toBeGreaterThanOrEqual(TESTS_PER_TASK / 2);
        expect(answers.some((a) => a.passed === TESTS_PER_TASK)).toBe(false);
      }
    }
    // Soundness is logistic(N(0, 1.5²)): about half the first answers are flawed.
    expect(flawed).toBeGreaterThan(60);
    expect(flawed).toBeLessThan(140);
  });

  it('"walk" draws the same tasks and answers it always did (the extra draws are "approach"\'s only)', () => {
    const rng = Random.seeded(7);
    const task = (TASK_SETS.walk as (typeof TASK_SETS)[string]).makeTask(rng);
    expect(Object.values(task.soundness)).toEqual(SIM_MODELS.map(() => 1));
    // The first set's task for seed 7 as it was generated before the second set existed.
    const before = Random.seeded(7);
    for (const m of SIM_MODELS) {
      expect(task.competence[m.name]).toBe(1 / (1 + Math.exp(-(m.competence + before.normal(0, 1.5)))));
      expect(task.refinement[m.name]).toBe(1 / (1 + Math.exp(-(m.refinement + before.normal(0, 1.5)))));
    }
    expect(rng.next()).toBe(before.next());
  });
});
