import { describe, expect, it } from "vitest";
import { drawMixed, prunable } from "../../src/lib/orchestration/ab-mcts-m";
import { generationPrompt, parseJudgeScore } from "../../src/lib/orchestration/generate";
import { betaPosterior, drawMean, gaussianPosterior, type Stats } from "../../src/lib/orchestration/posterior";
import { Random } from "../../src/lib/orchestration/random";
import { ALGORITHMS, type Algorithm, Search, SearchError } from "../../src/lib/orchestration/search";
import { backUp, newNode, type TreeNode } from "../../src/lib/orchestration/tree";

/** Runs a search to its budget with a deterministic scorer of (parent score, model). */
function run(algorithm: Algorithm, models: string[], maxNodes: number, seed: number, score: (n: number) => number) {
  const search = Search.create({ algorithm, models, maxNodes, seed });
  let i = 0;
  for (let ask = search.ask(); ask; ask = search.ask()) search.tell(ask.ticket, `answer ${i}`, score(i++));
  return search;
}

describe("random", () => {
  it("is the same stream for the same seed and a different one for another", () => {
    const a = Random.seeded(42);
    const b = Random.seeded(42);
    const c = Random.seeded(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });

  it("samples gamma, beta and normal with the right means", () => {
    const rng = Random.seeded(7);
    const n = 20_000;
    let g = 0;
    let g2 = 0;
    let b = 0;
    let z = 0;
    for (let i = 0; i < n; i++) {
      g += rng.gamma(3);
      g2 += rng.gamma(0.5);
      b += rng.beta(2, 6);
      z += rng.normal(1, 2);
    }
    expect(g / n).toBeCloseTo(3, 1);
    expect(g2 / n).toBeCloseTo(0.5, 1);
    expect(b / n).toBeCloseTo(0.25, 1);
    expect(z / n).toBeCloseTo(1, 1);
  });
});

describe("posterior updates", () => {
  it("normal-inverse-gamma: the conjugate update by hand", () => {
    const stats: Stats = [2, 0.2 + 0.6, 0.04 + 0.36];
    const post = gaussianPosterior({ m: 0, kappa: 1, nu: 1, tau2: 0.1 }, stats);
    expect(post.kappa).toBe(3);
    expect(post.nu).toBe(3);
    expect(post.m).toBeCloseTo(0.8 / 3, 12);
    // (ν τ² + Σ(y − ȳ)² + nκ/(κ+n) (m − ȳ)²) / ν' = (0.1 + 0.08 + (2/3)·0.16) / 3
    expect(post.tau2).toBeCloseTo((0.1 + 0.08 + (2 / 3) * 0.16) / 3, 12);
  });

  it("beta: fractional scores add to the pseudo-counts", () => {
    expect(betaPosterior({ a: 0.5, b: 0.5 }, [3, 2.5, 0])).toEqual({ a: 3, b: 1 });
  });

  it("Thompson draws concentrate on the observed mean as evidence grows", () => {
    const rng = Random.seeded(1);
    const stats: Stats = [0, 0, 0];
    for (let i = 0; i < 400; i++) {
      const y = i % 2 ? 0.7 : 0.9;
      stats[0] += 1;
      stats[1] += y;
      stats[2] += y * y;
    }
    for (const kind of ["gaussian", "beta"] as const) {
      const draws = Array.from({ length: 200 }, () => drawMean(kind, stats, rng));
      const avg = draws.reduce((a, b) => a + b, 0) / draws.length;
      expect(avg).toBeGreaterThan(0.75);
      expect(avg).toBeLessThan(0.85);
    }
  });

  it("the mixed model's draw tracks the better group", () => {
    const rng = Random.seeded(3);
    const groups: Stats[] = [
      [20, 20 * 0.2, 20 * 0.04],
      [20, 20 * 0.9, 20 * 0.81],
    ];
    let higher = 0;
    for (let i = 0; i < 100; i++) {
      const d = drawMixed(groups, rng);
      if ((d.theta[1] as number) > (d.theta[0] as number)) higher++;
    }
    expect(higher).toBeGreaterThan(95);
  });
});

describe("GEN versus refine", () => {
  /** Refinements (nodes below depth 1) after 60 asks where refining adds 0.2 to a fresh answer's 0.1. */
  function refinementsWhenRefiningPays(algorithm: Algorithm, seed: number): number {
    const search = Search.create({ algorithm, models: ["m"], maxNodes: 60, seed });
    for (let ask = search.ask(); ask; ask = search.ask()) {
      const parent = search.state.nodes[ask.parent];
      search.tell(ask.ticket, "x", ask.parent === 0 ? 0.1 : Math.min(1, (parent?.score ?? 0) + 0.2));
    }
    return search.state.nodes.filter((n) => n.parent !== null && n.parent !== 0).length;
  }

  for (const algorithm of ["ab-mcts-a", "ab-mcts-m"] as const) {
    it(`${algorithm} goes deeper when refinements pay`, () => {
      expect(refinementsWhenRefiningPays(algorithm, 11)).toBeGreaterThan(40);
    });
  }

  it("ab-mcts-a goes wider when fresh answers pay and refinements do not", () => {
    const search = Search.create({ algorithm: "ab-mcts-a", models: ["m"], maxNodes: 60, seed: 11 });
    for (let ask = search.ask(); ask; ask = search.ask()) search.tell(ask.ticket, "x", ask.parent === 0 ? 0.8 : 0);
    expect(search.state.nodes[0]?.children.length).toBeGreaterThan(45);
  });

  it("ab-mcts-m: GEN wins at a node whose children all disappoint, a child wins when one stands out", () => {
    // Root with three scored children: GEN's draw is θ_new ~ N(μ, τ²).
    const rng = Random.seeded(4);
    const low: Stats[] = [
      [5, 0.5, 0.05],
      [5, 0.5, 0.05],
    ];
    const oneHigh: Stats[] = [
      [5, 0.5, 0.05],
      [8, 8 * 0.95, 8 * 0.9025],
    ];
    let genWins = 0;
    let childWins = 0;
    for (let i = 0; i < 200; i++) {
      const a = drawMixed(low, rng);
      if (rng.normal(a.mu, Math.sqrt(a.tau2)) > Math.max(...a.theta)) genWins++;
      const b = drawMixed(oneHigh, rng);
      if ((b.theta[1] as number) > rng.normal(b.mu, Math.sqrt(b.tau2))) childWins++;
    }
    expect(genWins).toBeGreaterThan(60);
    expect(childWins).toBeGreaterThan(150);
  });

  it("the multi-model variant moves its generations to the model that scores", () => {
    const search = Search.create({ algorithm: "ab-mcts-a", models: ["weak", "strong"], maxNodes: 80, seed: 5 });
    for (let ask = search.ask(); ask; ask = search.ask()) {
      search.tell(ask.ticket, "x", ask.model === "strong" ? 0.7 : 0.1);
    }
    const strong = search.state.nodes.filter((n) => n.model === "strong").length;
    expect(strong).toBeGreaterThan(60);
  });

  it("the baselines: repeated sampling never refines; sequential refinement always refines the latest", () => {
    const repeated = run("repeated-sampling", ["a", "b"], 10, 1, () => 0.5);
    expect(repeated.state.nodes.slice(1).every((n) => n.parent === 0)).toBe(true);
    expect(repeated.state.nodes.slice(1).map((n) => n.model)).toEqual("ababababab".split(""));
    const sequential = run("sequential-refinement", ["a"], 10, 1, () => 0.5);
    expect(sequential.state.nodes.slice(1).map((n) => n.parent)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe("ask/tell", () => {
  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: respects the node budget, also with asks outstanding`, () => {
      const search = Search.create({ algorithm, models: ["a", "b"], maxNodes: 7, seed: 2 });
      const first = [search.ask(), search.ask(), search.ask()];
      expect(first.every((a) => a !== null)).toBe(true);
      for (const a of first) if (a) search.tell(a.ticket, "x", 0.3);
      let asks = 3;
      for (let ask = search.ask(); ask; ask = search.ask()) {
        asks++;
        search.tell(ask.ticket, "y", 0.4);
      }
      expect(asks).toBe(7);
      expect(search.ask()).toBeNull();
      expect(search.state.nodes).toHaveLength(8);
    });

    it(`${algorithm}: the same seed gives the same tree, also through a JSON round trip mid-search`, () => {
      const score = (i: number) => ((i * 37) % 11) / 10;
      const a = run(algorithm, ["a", "b"], 40, 9, score);
      // The second search is stored and restored every few steps, as the Durable Object does.
      let b = Search.create({ algorithm, models: ["a", "b"], maxNodes: 40, seed: 9 });
      let i = 0;
      for (let ask = b.ask(); ask; ask = b.ask()) {
        b.tell(ask.ticket, `answer ${i}`, score(i++));
        if (i % 5 === 0) b = new Search(JSON.parse(JSON.stringify(b.state)));
      }
      expect(b.state).toEqual(a.state);
      const c = run(algorithm, ["a", "b"], 40, 10, score);
      if (algorithm.startsWith("ab-mcts")) expect(c.state.nodes).not.toEqual(a.state.nodes);
    });
  }

  it("refuses a bad tell and a bad configuration", () => {
    const search = Search.create({ algorithm: "ab-mcts-a", models: ["a"], maxNodes: 3, seed: 1 });
    const ask = search.ask();
    if (!ask) throw new Error("no ask");
    expect(() => search.tell(99, "x", 0.5)).toThrow(SearchError);
    expect(() => search.tell(0, "x", 0.5)).toThrow(/No ticket/);
    expect(() => search.tell(ask.ticket, "x", 1.5)).toThrow(/score/);
    search.tell(ask.ticket, "x", 0.5);
    expect(() => search.tell(ask.ticket, "x", 0.5)).toThrow(/already/);
    expect(search.best()?.id).toBe(ask.ticket);
    expect(() => Search.create({ algorithm: "nope" as Algorithm, models: ["a"], maxNodes: 3, seed: 1 })).toThrow(
      /Unknown algorithm/,
    );
    expect(() => Search.create({ algorithm: "ab-mcts-a", models: [], maxNodes: 3, seed: 1 })).toThrow(/model/);
  });
});

describe("webhook signature (Standard Webhooks)", () => {
  it("is an HMAC-SHA256 over id.timestamp.body with the key after whsec_, as a receiver recomputes it", async () => {
    const { createHmac } = await import("node:crypto");
    const { newWebhookSecret, webhookSignatureHeaders } = await import("../../src/lib/orchestration/webhook-signature");
    const secret = newWebhookSecret();
    const body = JSON.stringify({ answer: "42" });
    const headers = await webhookSignatureHeaders(secret, "srch_x.3", body, 1_700_000_000_500);
    expect(headers["webhook-id"]).toBe("srch_x.3");
    expect(headers["webhook-timestamp"]).toBe("1700000000");
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const expected = createHmac("sha256", key).update(`srch_x.3.1700000000.${body}`).digest("base64");
    expect(headers["webhook-signature"]).toBe(`v1,${expected}`);
  });
});

describe("llm-judge score parsing", () => {
  it("reads the last labelled score as a decimal, a fraction or a percentage", () => {
    expect(parseJudgeScore("Mostly right.\nScore: 0.75")).toBe(0.75);
    expect(parseJudgeScore("score = .5")).toBe(0.5);
    expect(parseJudgeScore("Score: 0.2 at first glance… on reflection, Score: 0.9")).toBe(0.9);
    expect(parseJudgeScore("**Score:** 7/10")).toBe(0.7);
    expect(parseJudgeScore("Final score: 80%")).toBe(0.8);
    expect(parseJudgeScore("The score is 1")).toBe(1);
  });

  it("falls back to the last fraction or percentage, or a reply that is only a number", () => {
    expect(parseJudgeScore("I'd give it 3/4, maybe 5/8.")).toBe(0.625);
    expect(parseJudgeScore("About 40 % right")).toBe(0.4);
    expect(parseJudgeScore(" 0.3\n")).toBe(0.3);
  });

  it("no number, or an ambiguous or impossible one, is no score", () => {
    expect(parseJudgeScore("It reads well.")).toBeNull();
    expect(parseJudgeScore("Score: 7")).toBeNull();
    expect(parseJudgeScore("Score: 11/10")).toBeNull();
    expect(parseJudgeScore("Score: 3/0")).toBeNull();
    expect(parseJudgeScore("Score: 120%")).toBeNull();
    expect(parseJudgeScore("There are 3 bugs in 12 lines")).toBeNull();
  });
});

describe("generation prompts", () => {
  it("a fresh answer sees the task; a refinement also its parent's answer, score and feedback", () => {
    expect(generationPrompt("Add 2 and 2", null)).toBe("Task:\nAdd 2 and 2");
    const refine = generationPrompt("Add 2 and 2", { answer: "5", score: 0.25, feedback: "Off by one." });
    expect(refine).toContain("<answer>\n5\n</answer>");
    expect(refine).toContain("scored 0.250 out of 1");
    expect(refine).toContain("Off by one.");
  });
});

describe("TreeQuest's details", () => {
  /** A root with one child whose subtree holds `scores` (the child's own first, then a chain of refinements). */
  function chain(scores: number[]): TreeNode[] {
    const nodes: TreeNode[] = [newNode(0, null, "")];
    let parent = nodes[0] as TreeNode;
    for (const score of scores) {
      const node = newNode(nodes.length, parent, "m");
      nodes.push(node);
      parent.children.push(node.id);
      backUp(nodes, node, score);
      parent = node;
    }
    return nodes;
  }

  it("AB-MCTS-M prunes a subtree of four or more scores, three quarters of them equal", () => {
    expect(prunable(chain([0.5, 0.5, 0.5, 0.7]), chain([0.5, 0.5, 0.5, 0.7])[1] as TreeNode)).toBe(true);
    const varied = chain([0.5, 0.6, 0.5, 0.7]);
    expect(prunable(varied, varied[1] as TreeNode)).toBe(false);
    const small = chain([0.5, 0.5, 0.5]);
    expect(prunable(small, small[1] as TreeNode)).toBe(false);
  });

  it("the multi-model arm sends most generations to the model that scores better across the search", () => {
    for (const algorithm of ["ab-mcts-a", "ab-mcts-m"] as const) {
      const search = Search.create({ algorithm, models: ["weak", "strong"], maxNodes: 60, seed: 5 });
      for (let ask = search.ask(); ask; ask = search.ask())
        search.tell(ask.ticket, "", ask.model === "strong" ? 0.8 : 0.2);
      const strong = search.state.nodes.filter((n) => n.model === "strong").length;
      expect(strong, algorithm).toBeGreaterThan(45);
    }
  });
});
