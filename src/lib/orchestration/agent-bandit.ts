// Agent choice for the old AB-MCTS service's routes (functions/legacy/ab-mcts.ts): each agent is an arm with a
// Beta posterior over its reward (rewards in [0, 1] count as fractional successes, Jeffreys' prior), ranked by
// Thompson draws. Pure: the Durable Object keeps the counts.
import { betaPosterior, DEFAULT_BETA_PRIOR, type Stats } from "./posterior";
import type { Random } from "./random";

export interface ArmRanking {
  agent: string;
  /** Share of the draws in which this agent came first. */
  winShare: number;
  /** Posterior mean reward. */
  expected: number;
  observations: number;
}

/** Ranks agents by `draws` rounds of Thompson sampling: how often each came first, best first. */
export function rankAgents(agents: string[], stats: Map<string, Stats>, draws: number, rng: Random): ArmRanking[] {
  const posteriors = agents.map((agent) => betaPosterior(DEFAULT_BETA_PRIOR, stats.get(agent) ?? [0, 0, 0]));
  const wins = agents.map(() => 0);
  for (let d = 0; d < draws; d++) {
    let best = 0;
    let bestDraw = -1;
    posteriors.forEach((p, i) => {
      const x = rng.beta(p.a, p.b);
      if (x > bestDraw) {
        bestDraw = x;
        best = i;
      }
    });
    wins[best] = (wins[best] ?? 0) + 1;
  }
  return agents
    .map((agent, i) => {
      const p = posteriors[i] as { a: number; b: number };
      return {
        agent,
        winShare: (wins[i] ?? 0) / draws,
        expected: p.a / (p.a + p.b),
        observations: stats.get(agent)?.[0] ?? 0,
      };
    })
    .sort((x, y) => y.winShare - x.winShare || y.expected - x.expected);
}
