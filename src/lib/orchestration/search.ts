// One search as an ask/tell object over serialisable state: ask() says which node to expand and with which model,
// tell() records the answer and its score. Pure and deterministic for a seed: no I/O, no clock.
import { selectAggregated } from "./ab-mcts-a";
import { selectMixed } from "./ab-mcts-m";
import { selectRepeated, selectSequential } from "./baselines";
import { emptyStats, observe, type PosteriorKind, type Stats } from "./posterior";
import { Random, type RandomState, seedRandom } from "./random";
import { backUp, newNode, type TreeNode } from "./tree";

export const ALGORITHMS = ["ab-mcts-a", "ab-mcts-m", "repeated-sampling", "sequential-refinement"] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

interface SearchConfig {
  algorithm: Algorithm;
  /** The models (arms); more than one makes AB-MCTS the multi-model variant. */
  models: string[];
  /** The most answers the search generates (asks it hands out). */
  maxNodes: number;
  seed: number;
  /** AB-MCTS-A's posterior family (default gaussian). */
  posterior?: PosteriorKind;
  /** AB-MCTS-M: pass over stagnant subtrees as TreeQuest does (default true; false for the paper's bare algorithm). */
  prune?: boolean;
}

export interface SearchState {
  config: SearchConfig;
  rng: RandomState;
  /** nodes[0] is the root; nodes[id].id === id. */
  nodes: TreeNode[];
  /** Scores told so far per model, for the multi-model prior. */
  modelStats: Record<string, Stats>;
  best: number | null;
}

/** What to do next: generate an answer with `model` as a child of `parent` (0 = a fresh answer to the task). */
export interface Ask {
  ticket: number;
  parent: number;
  action: "generate" | "refine";
  model: string;
}

/** A selection policy: the parent to expand and the model, from the tree as it stands. */
export type Policy = (state: SearchState, rng: Random) => { parent: number; model: string };

const POLICIES: Record<Algorithm, Policy> = {
  "ab-mcts-a": selectAggregated,
  "ab-mcts-m": selectMixed,
  "repeated-sampling": selectRepeated,
  "sequential-refinement": selectSequential,
};

export class SearchError extends Error {
  constructor(
    readonly code: "invalid" | "conflict",
    message: string,
  ) {
    super(message);
    this.name = "SearchError";
  }
}

function newSearchState(config: SearchConfig): SearchState {
  if (!ALGORITHMS.includes(config.algorithm)) throw new SearchError("invalid", `Unknown algorithm ${config.algorithm}`);
  if (config.models.length === 0) throw new SearchError("invalid", "A search needs at least one model");
  if (new Set(config.models).size !== config.models.length) throw new SearchError("invalid", "Models must differ");
  if (!Number.isInteger(config.maxNodes) || config.maxNodes < 1) {
    throw new SearchError("invalid", "maxNodes must be a positive integer");
  }
  return { config, rng: seedRandom(config.seed), nodes: [newNode(0, null, "")], modelStats: {}, best: null };
}

export class Search {
  private readonly rng: Random;

  constructor(readonly state: SearchState) {
    this.rng = new Random(state.rng);
  }

  static create(config: SearchConfig): Search {
    return new Search(newSearchState(config));
  }

  /** Answers generated or handed out so far (the root not counted). */
  get used(): number {
    return this.state.nodes.length - 1;
  }

  get pending(): number[] {
    return this.state.nodes.filter((n) => n.id !== 0 && n.score === null).map((n) => n.id);
  }

  /** The next expansion, or null when the node budget is spent. */
  ask(): Ask | null {
    if (this.used >= this.state.config.maxNodes) return null;
    const { parent, model } = POLICIES[this.state.config.algorithm](this.state, this.rng);
    const parentNode = this.state.nodes[parent] as TreeNode;
    const node = newNode(this.state.nodes.length, parentNode, model);
    this.state.nodes.push(node);
    parentNode.children.push(node.id);
    return { ticket: node.id, parent, action: parent === 0 ? "generate" : "refine", model };
  }

  /** Records a ticket's answer and its score in [0, 1]. */
  tell(ticket: number, answer: string, score: number): void {
    const node = ticket > 0 ? this.state.nodes[ticket] : undefined;
    if (!node) throw new SearchError("invalid", `No ticket ${ticket}`);
    if (node.score !== null) throw new SearchError("conflict", `Ticket ${ticket} has already been told`);
    if (!Number.isFinite(score) || score < 0 || score > 1) throw new SearchError("invalid", "score must be in [0, 1]");
    node.answer = answer;
    backUp(this.state.nodes, node, score);
    this.state.modelStats[node.model] ??= emptyStats();
    observe(this.state.modelStats[node.model] as Stats, score);
    const best = this.best();
    this.state.best = best?.id ?? null;
  }

  /** The best scored answer so far (the earliest among equals). */
  best(): TreeNode | null {
    let best: TreeNode | null = null;
    for (const n of this.state.nodes) {
      if (n.score !== null && (best === null || n.score > (best.score as number))) best = n;
    }
    return best;
  }
}
