// AB-MCTS-A (node aggregation): at each node N, a GEN arm (a new child of N) and a CONT arm (go down into one of N's
// children), each with a conjugate posterior; the Thompson draws decide wider (GEN) or deeper (CONT). Going deeper
// picks the child by a Thompson draw from each child's posterior over its subtree's scores. A node without scored
// children always generates. docs/orchestration.md gives the notation.
import { chooseModel } from "./model-choice";
import { drawMean } from "./posterior";
import type { Policy } from "./search";
import { genAll, scoredChildren, type TreeNode } from "./tree";

export const selectAggregated: Policy = (state, rng) => {
  const kind = state.config.posterior ?? "gaussian";
  let node = state.nodes[0] as TreeNode;
  for (;;) {
    const children = scoredChildren(state.nodes, node);
    if (children.length === 0) break;
    const gen = drawMean(kind, genAll(node), rng);
    const cont = drawMean(kind, node.cont, rng);
    if (gen >= cont) break;
    let next = children[0] as TreeNode;
    let nextDraw = Number.NEGATIVE_INFINITY;
    for (const child of children) {
      const draw = drawMean(kind, child.sub, rng);
      if (draw > nextDraw) {
        nextDraw = draw;
        next = child;
      }
    }
    node = next;
  }
  return { parent: node.id, model: chooseModel(state, rng, kind) };
};
