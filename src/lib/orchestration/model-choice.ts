// The multi-model arm: at a node chosen for generation, which model generates. Each model is an arm with a
// conjugate posterior over the scores of the children it generated from this node, whose prior mean is that model's
// mean score over the whole search (so a model that does well elsewhere is tried first at a new node).
import { drawMean, mean, type PosteriorKind, type Stats } from "./posterior";
import type { Random } from "./random";
import type { SearchState } from "./search";
import type { TreeNode } from "./tree";

export function chooseModel(state: SearchState, node: TreeNode, rng: Random, kind: PosteriorKind): string {
  const models = state.config.models;
  if (models.length === 1) return models[0] as string;
  let best = models[0] as string;
  let bestDraw = Number.NEGATIVE_INFINITY;
  for (const model of models) {
    const global = state.modelStats[model];
    const priorMean = global ? (mean(global) ?? undefined) : undefined;
    const draw = drawMean(kind, node.gen[model] ?? ([0, 0, 0] as Stats), rng, priorMean);
    if (draw > bestDraw) {
      bestDraw = draw;
      best = model;
    }
  }
  return best;
}
