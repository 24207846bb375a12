// The paper's two baselines. Repeated sampling (best of n): every answer fresh from the task, models in turn.
// Sequential refinement: one fresh answer, then each answer refines the latest scored one.
import type { Policy } from "./search";

export const selectRepeated: Policy = (state) => {
  const models = state.config.models;
  return { parent: 0, model: models[(state.nodes.length - 1) % models.length] as string };
};

export const selectSequential: Policy = (state) => {
  const models = state.config.models;
  const model = models[(state.nodes.length - 1) % models.length] as string;
  for (let i = state.nodes.length - 1; i > 0; i--) {
    if (state.nodes[i]?.score !== null) return { parent: i, model };
  }
  return { parent: 0, model };
};
