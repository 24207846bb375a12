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

const MIXED_PRIOR = { mu0: 0.5, v0: 0.25, aTau: 2, bTau: 0.02, aSigma: 2, bSigma: 0.02 };
const GIBBS_SWEEPS = 8;

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

export const selectMixed: Policy = (state, rng) => {
  let node = state.nodes[0] as TreeNode;
  for (;;) {
    const children = scoredChildren(state.nodes, node);
    if (children.length === 0) break;
    const draw = drawMixed(
      children.map((c) => c.sub),
      rng,
    );
    const fresh = rng.normal(draw.mu, Math.sqrt(draw.tau2));
    let best = -1;
    let bestValue = fresh;
    draw.theta.forEach((value, i) => {
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    });
    if (best < 0) break;
    node = children[best] as TreeNode;
  }
  return { parent: node.id, model: chooseModel(state, node, rng, "gaussian") };
};
