// bench:mcts: (1) search quality on generated tasks (bench/lib/mcts-tasks.ts) at equal generation budgets, with
// 95 % Wilson intervals, for the baselines and AB-MCTS; (2) the service's overhead per ask/tell round trip and the
// searches per second its Durable Objects sustain, against `npm run start` (skip with BENCH_MCTS_SERVICE=0).
import { envInt, failBench, log, watchdog } from "./lib/common";
import { ALL_MODELS, runQuality, type Variant } from "./lib/mcts-quality";
import { runServiceBench } from "./lib/mcts-service";

const NAME = "bench:mcts";
const TASKS = envInt("BENCH_MCTS_TASKS", 300, 10, 10_000);
const SEED = envInt("BENCH_MCTS_SEED", 2026, 0, 2 ** 31 - 1);
const BUDGETS = [16, 64, 256];

const [best] = ALL_MODELS;
const variants: Variant[] = [
  ...ALL_MODELS.flatMap((m): Variant[] => [
    { label: `repeated sampling, ${m}`, algorithm: "repeated-sampling", models: [m] },
    { label: `sequential refinement, ${m}`, algorithm: "sequential-refinement", models: [m] },
    { label: `AB-MCTS-A, ${m}`, algorithm: "ab-mcts-a", models: [m] },
    { label: `AB-MCTS-M, ${m}`, algorithm: "ab-mcts-m", models: [m] },
  ]),
  { label: "repeated sampling, all models in turn", algorithm: "repeated-sampling", models: ALL_MODELS },
  { label: "multi-model AB-MCTS-A", algorithm: "ab-mcts-a", models: ALL_MODELS },
  { label: "multi-model AB-MCTS-M", algorithm: "ab-mcts-m", models: ALL_MODELS },
];

async function main(): Promise<void> {
  const disarm = watchdog(NAME, 900_000);
  log(
    `${NAME}: ${TASKS} generated tasks (seed ${SEED}), budgets ${BUDGETS.join(", ")} generations; best model ${best}`,
  );
  const started = performance.now();
  const rows = runQuality(variants, BUDGETS, TASKS, SEED);
  log(`quality: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  log();
  log(`${"budget".padStart(6)}  ${"algorithm".padEnd(40)} ${"solved".padStart(8)}  rate   95% CI`);
  for (const r of rows) {
    log(
      `${String(r.budget).padStart(6)}  ${r.label.padEnd(40)} ${`${r.solved}/${r.tasks}`.padStart(8)}  ${r.rate.toFixed(3)}  ` +
        `[${r.ci[0].toFixed(3)}, ${r.ci[1].toFixed(3)}]`,
    );
  }
  const service = process.env.BENCH_MCTS_SERVICE === "0" ? null : await runServiceBench();
  log();
  log(JSON.stringify({ bench: NAME, tasks: TASKS, seed: SEED, quality: rows, service }));
  disarm();
}

main().catch(failBench(NAME));
