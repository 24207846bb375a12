// The search tree every algorithm shares: node 0 is the task (the root, no answer); every other node is one
// generated answer, a child of the answer it refines (or of the root for a fresh answer). Scores are in [0, 1].
// Statistics are kept per node as answers are scored, so each selection step reads them in O(1).
import { emptyStats, observe, type Stats } from "./posterior";

export interface TreeNode {
  id: number;
  /** null for the root. */
  parent: number | null;
  depth: number;
  /** The model that generated it ("" for the root). */
  model: string;
  children: number[];
  /** null until told (a pending ticket). */
  score: number | null;
  answer: string | null;
  /** Scores of its direct children, per model: the GEN node's observations. */
  gen: Record<string, Stats>;
  /** Scores of its descendants two or more levels down: the CONT node's observations. */
  cont: Stats;
  /** Its own score and every descendant's: this node as an arm of its parent. */
  sub: Stats;
}

export function newNode(id: number, parent: TreeNode | null, model: string): TreeNode {
  return {
    id,
    parent: parent?.id ?? null,
    depth: parent ? parent.depth + 1 : 0,
    model,
    children: [],
    score: null,
    answer: null,
    gen: {},
    cont: emptyStats(),
    sub: emptyStats(),
  };
}

export function genAll(node: TreeNode): Stats {
  const total = emptyStats();
  for (const s of Object.values(node.gen)) {
    total[0] += s[0];
    total[1] += s[1];
    total[2] += s[2];
  }
  return total;
}

/** Records a scored answer and backs its score up the path to the root. */
export function backUp(nodes: TreeNode[], node: TreeNode, score: number): void {
  node.score = score;
  observe(node.sub, score);
  const parent = nodes[node.parent ?? 0] as TreeNode;
  parent.gen[node.model] ??= emptyStats();
  observe(parent.gen[node.model] as Stats, score);
  let x = parent;
  while (x.parent !== null) {
    observe(x.sub, score);
    const up = nodes[x.parent] as TreeNode;
    observe(up.cont, score);
    x = up;
  }
}

/** Children that have been scored (pending ones cannot be refined or judged yet). */
export function scoredChildren(nodes: TreeNode[], node: TreeNode): TreeNode[] {
  return node.children.map((id) => nodes[id] as TreeNode).filter((c) => c.score !== null);
}
