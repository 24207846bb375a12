// bench:mcts: (1) search quality on generated tasks (bench/lib/mcts-tasks.ts; BENCH_MCTS_TASKSETS picks the sets) at
// equal generation budgets, with 95 % Wilson intervals, for the baselines and AB-MCTS; (2) the service's overhead per ask/tell round trip and the
// searches per second its Durable Objects sustain, against `npm run start` (skip with BENCH_MCTS_SERVICE=0).
import { envInt, failBench, log, watchdog } from "./lib/common";
import { ALL_MODELS, runQuality, type Variant } from "./lib/mcts-quality";
import { runServiceBench } from "./lib/mcts-service";
import { TASK_SETS } from "./lib/mcts-tasks";

const NAME = "bench:mcts";
const TASKS = envInt("BENCH_MCTS_TASKS", 200, 10, 10_000);
// Five task sets, seeds fixed before any result was seen (BENCH_MCTS_SEEDS=1,2,… to change them).
const SEEDS = (process.env.BENCH_MCTS_SEEDS ?? "1,2,3,4,5").split(",").map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new Error(`BENCH_MCTS_SEEDS: ${s} is not a seed`);
  return n;
});
const BUDGETS = [16, 64, 256];
// Both task sets by default ("walk", then "approach"; bench/lib/mcts-tasks.ts says how they differ).
const SETS = (process.env.BENCH_MCTS_TASKSETS ?? "walk,approach").split(",").map((name) => {
  const set = TASK_SETS[name];
  if (!set) throw new Error(`BENCH_MCTS_TASKSETS: ${name} is not one of ${Object.keys(TASK_SETS).join(", ")}`);
  return set;
});

const [best] = ALL_MODELS;
const variants: Variant[] = [
  ...ALL_MODELS.flatMap((m): Variant[] => [
    { label: `repeated sampling, ${m}`, algorithm: "repeated-sampling", models: [m] },
    { label: `sequential refinement, ${m}`, algorithm: "sequential-refinement", models: [m] },
    { label: `AB-MCTS-A, ${m}`, algorithm: "ab-mcts-a", models: [m] },
    { label: `AB-MCTS-M, ${m}`, algorithm: "ab-mcts-m", models: [m] },
    { label: `AB-MCTS-M unpruned, ${m}`, algorithm: "ab-mcts-m", models: [m], prune: false },
  ]),
  { label: "repeated sampling, all models in turn", algorithm: "repeated-sampling", models: ALL_MODELS },
  { label: "multi-model AB-MCTS-A", algorithm: "ab-mcts-a", models: ALL_MODELS },
  { label: "multi-model AB-MCTS-M", algorithm: "ab-mcts-m", models: ALL_MODELS },
  { label: "multi-model AB-MCTS-M unpruned", algorithm: "ab-mcts-m", models: ALL_MODELS, prune: false },
];

async function main(): Promise<void> {
  const disarm = watchdog(NAME, 1_800_000);
  log(
    `${NAME}: ${TASKS} generated tasks for each seed ${SEEDS.join(", ")}, budgets ${BUDGETS.join(", ")} ` +
      `generations; best model on average ${best}`,
  );
  const quality = SETS.map((set) => {
    const started = performance.now();
    const rows = runQuality(set, variants, BUDGETS, TASKS, SEEDS);
    log();
    log(`task set "${set.name}": ${((performance.now() - started) / 1000).toFixed(1)} s`);
    log(`${"budget".padStart(6)}  ${"algorithm".padEnd(40)} ${"solved".padStart(9)}  rate   95% CI          per seed`);
    for (const r of rows) {
      log(
        `${String(r.budget).padStart(6)}  ${r.label.padEnd(40)} ${`${r.solved}/${r.tasks}`.padStart(9)}  ${r.rate.toFixed(3)}  ` +
          `[${r.ci[0].toFixed(3)}, ${r.ci[1].toFixed(3)}]  ${r.perSeed.map((p) => p.toFixed(2)).join(" ")}`,
      );
    }
    return { taskSet: set.name, rows };
  });
  const service = process.env.BENCH_MCTS_SERVICE === "0" ? null : await runServiceBench();
  log();
  log(JSON.stringify({ bench: NAME, tasksPerSeed: TASKS, seeds: SEEDS, quality, service }));
  disarm();
}

main().catch(failBench(NAME));
