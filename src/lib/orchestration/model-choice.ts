// The multi-model arm, as TreeQuest's default ("multiarm_bandit_thompson"): where the search has decided to
// generate (GEN won the Thompson draw at that node), which model generates is a second Thompson draw, over each
// model's scores across the whole search. AB-MCTS-A draws each model's mean from its conjugate posterior (the
// default prior); AB-MCTS-M draws a predictive score from the mixed model with one group per model, an unseen model
// being a new group (docs/orchestration.md, "Multi-model").
import { drawMixed } from "./ab-mcts-m";
import { drawMean, type PosteriorKind, type Stats } from "./posterior";
import type { Random } from "./random";
import type { SearchState } from "./search";

export function chooseModel(state: SearchState, rng: Random, kind: PosteriorKind | "mixed"): string {
  const models = state.config.models;
  if (models.length === 1) return models[0] as string;
  const seen = models.filter((m) => (state.modelStats[m]?.[0] ?? 0) > 0);
  let draws: number[];
  if (kind === "mixed") {
    // No score yet: nothing to fit, a model at random (as TreeQuest).
    if (seen.length === 0) return models[rng.int(models.length)] as string;
    const fit = drawMixed(
      seen.map((m) => state.modelStats[m] as Stats),
      rng,
    );
    const noise = Math.sqrt(fit.sigma2);
    draws = models.map((m) => {
      const i = seen.indexOf(m);
      const mean = i >= 0 ? (fit.theta[i] as number) : rng.normal(fit.mu, Math.sqrt(fit.tau2));
      return rng.normal(mean, noise);
    });
  } else {
    draws = models.map((m) => drawMean(kind, state.modelStats[m] ?? [0, 0, 0], rng));
  }
  let best = 0;
  for (let i = 1; i < draws.length; i++) if ((draws[i] as number) > (draws[best] as number)) best = i;
  return models[best] as string;
}
