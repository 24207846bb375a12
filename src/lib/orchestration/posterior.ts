// Conjugate posteriors over a node's scores (AB-MCTS-A, docs/orchestration.md): sufficient statistics that are
// updated in O(1) per observation and stored as plain arrays, and a Thompson draw from each posterior.
import type { Random } from "./random";

/** Sufficient statistics of a set of scores: [count, sum, sum of squares]. */
export type Stats = [number, number, number];

export const emptyStats = (): Stats => [0, 0, 0];

export function observe(stats: Stats, score: number): void {
  stats[0] += 1;
  stats[1] += score;
  stats[2] += score * score;
}

export function mean(stats: Stats): number | null {
  return stats[0] === 0 ? null : stats[1] / stats[0];
}

/** Normal-inverse-gamma prior: mean m, pseudo-count kappa, degrees of freedom nu, scale tau² of the noise variance. */
interface GaussianPrior {
  m: number;
  kappa: number;
  nu: number;
  tau2: number;
}

/** Beta prior over a success probability (scores in [0, 1] count as fractional successes). */
interface BetaPrior {
  a: number;
  b: number;
}

export type PosteriorKind = "gaussian" | "beta";

const DEFAULT_GAUSSIAN_PRIOR: GaussianPrior = { m: 0, kappa: 1, nu: 1, tau2: 0.1 };
/** Jeffreys' prior. */
export const DEFAULT_BETA_PRIOR: BetaPrior = { a: 0.5, b: 0.5 };

/** The normal-inverse-gamma posterior after the scores summarised by `stats` (Murphy, PML2 §3.4.3.3). */
export function gaussianPosterior(prior: GaussianPrior, stats: Stats): GaussianPrior {
  const [n, sum, sumSq] = stats;
  if (n === 0) return { ...prior };
  const avg = sum / n;
  const scatter = Math.max(0, sumSq - n * avg * avg); // Σ (y − ȳ)²
  const kappa = prior.kappa + n;
  const nu = prior.nu + n;
  const m = (prior.kappa * prior.m + n * avg) / kappa;
  const tau2 = (prior.nu * prior.tau2 + scatter + ((n * prior.kappa) / kappa) * (prior.m - avg) ** 2) / nu;
  return { m, kappa, nu, tau2 };
}

export function betaPosterior(prior: BetaPrior, stats: Stats): BetaPrior {
  const [n, sum] = stats;
  return { a: prior.a + sum, b: prior.b + (n - sum) };
}

/** One Thompson draw of the mean score: σ² ~ IG(ν/2, ντ²/2), μ ~ N(m, σ²/κ); or p ~ Beta(a, b). */
export function drawMean(kind: PosteriorKind, stats: Stats, rng: Random, priorMean?: number): number {
  if (kind === "beta") {
    const prior =
      priorMean === undefined ? DEFAULT_BETA_PRIOR : { a: clampUnit(priorMean), b: 1 - clampUnit(priorMean) };
    const post = betaPosterior(prior, stats);
    return rng.beta(post.a, post.b);
  }
  const prior = priorMean === undefined ? DEFAULT_GAUSSIAN_PRIOR : { ...DEFAULT_GAUSSIAN_PRIOR, m: priorMean };
  const post = gaussianPosterior(prior, stats);
  const variance = rng.inverseGamma(post.nu / 2, (post.nu * post.tau2) / 2);
  return rng.normal(post.m, Math.sqrt(variance / post.kappa));
}

/** Keeps a Beta prior proper: its pseudo-counts must be positive. */
function clampUnit(p: number): number {
  return Math.min(0.99, Math.max(0.01, p));
}
