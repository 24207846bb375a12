// AB-MCTS-M (mixed model): at a node N, each scored child i is a group whose observations are the scores in its
// subtree, y_ij = θ_i + ε_ij with θ_i ~ N(μ, τ²) (the per-group random effect) and ε ~ N(0, σ²); GEN is a new
// group, θ_new ~ N(μ, τ²). The posterior is approximated by a few Gibbs sweeps over (θ, μ, τ², σ²) with conjugate
// priors μ ~ N(μ0, v0), τ² ~ IG(aτ, bτ), σ² ~ IG(aσ, bσ); the last sweep's draw is the Thompson sample, and the
// largest of θ_new and the θ_i decides wider or deeper (docs/orchestration.md).
import { chooseModel } from "./model-choice";
import type { Stats } from "./posterior";
import type { Random } from "./random";
import type { Policy } from "./search";
import { scoredChildren, type TreeNode } from "./tree";

/**
 * Priors matched to TreeQuest's (μ_α ~ N(0.5, 0.2²), σ_α ~ HalfNormal(0.2), σ_y ~ HalfNormal(0.3)) with conjugate
 * families for the Gibbs sampler: the inverse gammas have the same means, E[τ²] = 0.2² and E[σ²] = 0.3².
 */
export const MIXED_PRIOR = { mu0: 0.5, v0: 0.04, aTau: 2, bTau: 0.04, aSigma: 2, bSigma: 0.09 };
export const GIBBS_SWEEPS = 8;

interface MixedDraw {
  mu: number;
  tau2: number;
  sigma2: number;
  theta: number[];
}

/** One approximate posterior draw for groups summarised by their statistics (each with at least one score). */
export function drawMixed(groups: Stats[], rng: Random, sweeps = GIBBS_SWEEPS): MixedDraw {
  const p = MIXED_PRIOR;
  const k = groups.length;
  const total = groups.reduce((n, g) => n + g[0], 0);
  const theta = groups.map((g) => g[1] / g[0]);
  let mu = theta.reduce((a, b) => a + b, 0) / k;
  let tau2 = p.bTau / (p.aTau - 1);
  let sigma2 = p.bSigma / (p.aSigma - 1);
  for (let sweep = 0; sweep < sweeps; sweep++) {
    for (let i = 0; i < k; i++) {
      const [n, sum] = groups[i] as Stats;
      const precision = 1 / tau2 + n / sigma2;
      theta[i] = rng.normal((mu / tau2 + sum / sigma2) / precision, Math.sqrt(1 / precision));
    }
    const muPrecision = 1 / p.v0 + k / tau2;
    const thetaSum = theta.reduce((a, b) => a + b, 0);
    mu = rng.normal((p.mu0 / p.v0 + thetaSum / tau2) / muPrecision, Math.sqrt(1 / muPrecision));
    const spread = theta.reduce((a, t) => a + (t - mu) ** 2, 0);
    tau2 = rng.inverseGamma(p.aTau + k / 2, p.bTau + spread / 2);
    let residual = 0;
    for (let i = 0; i < k; i++) {
      const [n, sum, sumSq] = groups[i] as Stats;
      const t = theta[i] as number;
      residual += Math.max(0, sumSq - 2 * t * sum + n * t * t);
    }
    sigma2 = rng.inverseGamma(p.aSigma + total / 2, p.bSigma + residual / 2);
  }
  return { mu, tau2, sigma2, theta };
}

/**
 * TreeQuest's pruning: a child whose subtree has at least `minSize` scores, `sameShare` or more of them equal (to two
 * decimals), has stopped producing anything new and is passed over.
 */
export const PRUNING = { minSize: 4, sameShare: 0.75 } as const;

export function prunable(nodes: TreeNode[], child: TreeNode): boolean {
  if (child.sub[0] < PRUNING.minSize) return false;
  const counts = new Map<number, number>();
  const stack = [child];
  for (let n = stack.pop(); n; n = stack.pop()) {
    if (n.score !== null) counts.set(Math.round(n.score * 100), (counts.get(Math.round(n.score * 100)) ?? 0) + 1);
    for (const id of n.children) stack.push(nodes[id] as TreeNode);
  }
  return Math.max(...counts.values()) / child.sub[0] >= PRUNING.sameShare;
}

export const selectMixed: Policy = (state, rng) => {
  let node = state.nodes[0] as TreeNode;
  for (;;) {
    const children = scoredChildren(state.nodes, node);
    if (children.length === 0) break;
    const draw = drawMixed(
      children.map((c) => c.sub),
      rng,
    );
    // Thompson draws of a score (the posterior predictive, as TreeQuest): y_new for GEN, y_i for each child.
    const noise = Math.sqrt(draw.sigma2);
    const fresh = rng.normal(rng.normal(draw.mu, Math.sqrt(draw.tau2)), noise);
    const ranked = draw.theta.map((theta, i) => ({ i, y: rng.normal(theta, noise) })).sort((a, b) => b.y - a.y);
    if (!ranked[0] || ranked[0].y <= fresh) break;
    // A child won; if it is pruned, the best unpruned child (TreeQuest), and GEN when every child is pruned.
    const prune = state.config.prune !== false;
    const pick = ranked.find((c) => !(prune && prunable(state.nodes, children[c.i] as TreeNode)));
    if (!pick) break;
    const next = children[pick.i] as TreeNode;
    node = next;
  }
  return { parent: node.id, model: chooseModel(state, rng, "mixed") };
};
