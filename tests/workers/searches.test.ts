// /v1/searches through the Worker's own fetch handler: external ask/tell, the scorers, eviction and resumption,
// hub progress, and bad input.
import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import type { AskView, NodeView, SearchView } from "../../durable-objects/search";
import { scoreByWebhook } from "../../src/lib/orchestration/scorers";
import { TEST_SCORER_SECRET } from "../support/scorer-secret";
import { api, type ErrorJson, json, keptFrames, registerUser } from "./support";

const base = {
  task: "Say the magic word",
  models: ["small", "large"],
  algorithm: "ab-mcts-a",
  scorer: { type: "caller" },
  budget: { nodes: 12 },
  seed: 7,
  mode: "external",
};

/** What POST /v1/searches answers: the search, and its webhook scorer's signing secret the first time only. */
type Created = SearchView & { webhookSecret?: string };

async function start(token: string, body: Record<string, unknown> = base): Promise<Created> {
  const res = await api("POST", "/v1/searches", { token, body });
  expect(res.status, await res.clone().text()).toBe(201);
  return json<Created>(res);
}

async function ask(token: string, id: string, count = 1): Promise<AskView[]> {
  const res = await api("POST", `/v1/searches/${id}/ask`, { token, body: { count } });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await json<{ asks: AskView[] }>(res)).asks;
}

async function tell(token: string, id: string, body: Record<string, unknown>): Promise<Response> {
  return api("POST", `/v1/searches/${id}/tell`, { token, body });
}

/** A deterministic caller: a refinement scores 0.25 more than its parent, a fresh answer 0.25; "large" 0.1 more. */
function scoreOf(a: AskView, scores: Map<number, number>): number {
  const parent = a.parent === 0 ? 0 : (scores.get(a.parent) ?? 0);
  return Math.min(1, parent + 0.25 + (a.model === "large" ? 0.1 : 0));
}

/** Drives a search to its end one ask at a time, optionally evicting every object after `evictAfter` tells. */
async function drive(
  token: string,
  id: string,
  evictAfter?: number,
  scores = new Map<number, number>(),
): Promise<void> {
  for (let told = 0; ; told++) {
    if (told === evictAfter) await abortAllDurableObjects();
    const [a] = await ask(token, id);
    if (!a) return;
    const score = scoreOf(a, scores);
    scores.set(a.ticket, score);
    const res = await tell(token, id, { ticket: a.ticket, answer: `answer ${a.ticket} from ${a.model}`, score });
    expect(res.status, await res.clone().text()).toBe(200);
  }
}

describe("external mode", () => {
  it("hands out asks, takes scored answers, keeps the best and its history, and stops at the target score", async () => {
    const { accessToken: token } = await registerUser();
    const search = await start(token, { ...base, budget: { nodes: 60 } });
    expect(search.status).toBe("running");
    const [first] = await ask(token, search.id);
    expect(first).toMatchObject({ ticket: 1, parent: 0, action: "generate", parentAnswer: null });
    expect(base.models).toContain(first?.model);
    const told = await tell(token, search.id, { ticket: 1, answer: "abracadabra?", score: 0.4, tokens: 30 });
    expect(told.status).toBe(200);
    expect((await json<{ best: NodeView }>(told)).best).toMatchObject({ id: 1, score: 0.4, answer: "abracadabra?" });
    // A second tell of the same ticket is a conflict; an unknown ticket is bad input.
    expect((await tell(token, search.id, { ticket: 1, answer: "again", score: 0.5 })).status).toBe(409);
    expect((await tell(token, search.id, { ticket: 99, answer: "x", score: 0.5 })).status).toBe(400);

    await drive(token, search.id, undefined, new Map([[1, 0.4]]));
    const view = await json<SearchView>(await api("GET", `/v1/searches/${search.id}`, { token }));
    expect(view.status).toBe("done");
    expect(view.best?.score).toBe(1);
    expect(view.reason).toBe("score");
    expect(view.used.tokens).toBe(30);
    expect(view.history.map((h) => h.score)).toEqual([...view.history.map((h) => h.score)].sort((a, b) => a - b));
    expect(view.history.at(-1)).toMatchObject({ node: view.best?.id, score: 1 });

    const tree = await json<{ nodes: NodeView[] }>(await api("GET", `/v1/searches/${search.id}/tree`, { token }));
    expect(tree.nodes[0]).toMatchObject({ id: 0, parent: null, answer: null });
    expect(tree.nodes).toHaveLength(view.used.nodes + 1);
    // A refinement was handed its parent's answer.
    const refined = tree.nodes.find((n) => n.parent !== null && n.parent > 0);
    expect(refined).toBeDefined();
    // Nothing more to ask once done.
    expect(await ask(token, search.id)).toEqual([]);
  });

  it("stops at the node budget and hands out no more asks than it", async () => {
    const { accessToken: token } = await registerUser();
    const search = await start(token, { ...base, budget: { nodes: 5 }, stopAtScore: 1 });
    const asks = await ask(token, search.id, 16);
    expect(asks).toHaveLength(5);
    for (const a of asks) await tell(token, search.id, { ticket: a.ticket, answer: "a", score: 0.1 });
    const view = await json<SearchView>(await api("GET", `/v1/searches/${search.id}`, { token }));
    expect(view).toMatchObject({ status: "done", reason: "budget", used: { nodes: 5, told: 5 } });
  });

  it("resumes after every object is evicted mid-search, with the very tree an uninterrupted run makes", async () => {
    const { accessToken: token } = await registerUser();
    const body = { ...base, budget: { nodes: 10 }, stopAtScore: 1, algorithm: "ab-mcts-m" };
    const straight = await start(token, body);
    await drive(token, straight.id);
    const evicted = await start(token, body);
    await drive(token, evicted.id, 4);
    const shape = async (id: string) =>
      (await json<{ nodes: NodeView[] }>(await api("GET", `/v1/searches/${id}/tree`, { token }))).nodes.map((n) => [
        n.parent,
        n.model,
        n.score,
      ]);
    expect(await shape(evicted.id)).toEqual(await shape(straight.id));
    const view = await json<SearchView>(await api("GET", `/v1/searches/${evicted.id}`, { token }));
    expect(view.status).toBe("done");
  });

  it("cancels: later tells are refused and the status says so; another user finds nothing", async () => {
    const { accessToken: token } = await registerUser();
    const other = await registerUser();
    const search = await start(token);
    const [a] = await ask(token, search.id);
    expect((await api("GET", `/v1/searches/${search.id}`, { token: other.accessToken })).status).toBe(404);
    expect((await api("DELETE", `/v1/searches/${search.id}`, { token: other.accessToken })).status).toBe(404);
    const cancelled = await api("DELETE", `/v1/searches/${search.id}`, { token });
    expect(cancelled.status).toBe(200);
    expect(await json<SearchView>(cancelled)).toMatchObject({ status: "cancelled", reason: "cancelled" });
    expect((await tell(token, search.id, { ticket: a?.ticket, answer: "late", score: 1 })).status).toBe(409);
    expect((await api("DELETE", `/v1/searches/${search.id}`, { token })).status).toBe(409);
  });

  it("publishes each node and each new best to the search's room and the owner's channel", async () => {
    const { accessToken: token, user } = await registerUser();
    const search = await start(token, { ...base, budget: { nodes: 3 }, algorithm: "repeated-sampling" });
    const asks = await ask(token, search.id, 3);
    const scores = [0.2, 0.1, 0.6];
    for (const [i, a] of asks.entries())
      await tell(token, search.id, { ticket: a.ticket, answer: "x", score: scores[i] });
    const room = `search:${search.id}`;
    let kinds: string[] = [];
    for (let wait = 10; wait < 5000; wait *= 2) {
      kinds = (await keptFrames(room)).map((f) => (JSON.parse(f) as { data: { kind: string } }).data.kind);
      if (kinds.length >= 6) break;
      await new Promise((r) => setTimeout(r, wait));
    }
    expect(kinds).toEqual(["search.node", "search.best", "search.node", "search.node", "search.best", "search.done"]);
    const mine = (await keptFrames(`user:${user.id}`, 0)).map((f) => JSON.parse(f) as { data: object });
    expect(mine.some((f) => JSON.stringify(f.data).includes(search.id))).toBe(true);
  });
});

describe("scorers", () => {
  it("exact, regex and json-schema score an answer told without a score", async () => {
    const { accessToken: token } = await registerUser();
    const cases: [Record<string, unknown>, string, number][] = [
      [{ type: "exact", expected: "Abracadabra" }, "  Abracadabra\n", 1],
      [{ type: "exact", expected: "Abracadabra" }, "abracadabra", 0],
      [{ type: "exact", expected: "Abracadabra", ignoreCase: true }, "abracadabra", 1],
      [{ type: "regex", pattern: "^\\d{3}-\\d{4}$" }, "555-1234", 1],
      [{ type: "regex", pattern: "^\\d{3}-\\d{4}$" }, "555-12345", 0],
      [
        { type: "json-schema", schema: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] } },
        '{"n": 4}',
        1,
      ],
      [
        { type: "json-schema", schema: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] } },
        '{"n": 4.5}',
        0,
      ],
      [{ type: "json-schema", schema: { type: "object" } }, "not json", 0],
    ];
    for (const [scorer, answer, expected] of cases) {
      const search = await start(token, { ...base, scorer, budget: { nodes: 2 } });
      const [a] = await ask(token, search.id);
      const res = await tell(token, search.id, { ticket: a?.ticket, answer });
      expect(res.status).toBe(200);
      expect((await json<{ node: NodeView }>(res)).node.score, JSON.stringify([scorer, answer])).toBe(expected);
    }
  });

  it("a caller scorer needs the caller's score", async () => {
    const { accessToken: token } = await registerUser();
    const search = await start(token);
    const [a] = await ask(token, search.id);
    const res = await tell(token, search.id, { ticket: a?.ticket, answer: "x" });
    expect(res.status).toBe(400);
  });
});

describe("bad input", () => {
  async function refused(body: Record<string, unknown>, status = 400): Promise<ErrorJson> {
    const { accessToken: token } = await registerUser();
    const res = await api("POST", "/v1/searches", { token, body });
    expect(res.status, await res.clone().text()).toBe(status);
    return json<ErrorJson>(res);
  }

  it("an unknown algorithm, an empty model list, a budget over the limits: 400 naming the field", async () => {
    expect((await refused({ ...base, algorithm: "alpha-zero" })).error.issues?.[0]?.path).toEqual([
      "body",
      "algorithm",
    ]);
    expect((await refused({ ...base, models: [] })).error.issues?.[0]?.path).toEqual(["body", "models"]);
    expect((await refused({ ...base, budget: { nodes: 100_000 } })).error.issues?.[0]?.path).toEqual([
      "body",
      "budget",
      "nodes",
    ]);
    expect((await refused({ ...base, budget: { nodes: 4, seconds: 86_400 } })).error.issues?.[0]?.path).toEqual([
      "body",
      "budget",
      "seconds",
    ]);
  });

  it("a scorer URL to a private or loopback address, a bad pattern or schema: 400", async () => {
    for (const url of ["http://127.0.0.1:9000/score", "http://10.1.2.3/score", "http://[::1]/", "http://localhost/"]) {
      const err = await refused({ ...base, scorer: { type: "webhook", url } });
      expect(err.error.message).toMatch(/private/);
      expect(err.error.issues?.[0]?.path).toEqual(["body", "scorer", "url"]);
    }
    expect((await refused({ ...base, scorer: { type: "webhook", url: "ftp://example.com/" } })).error.code).toBe(
      "invalid_request",
    );
    expect((await refused({ ...base, scorer: { type: "regex", pattern: "(a+)+$" } })).error.message).toMatch(/nested/);
    expect((await refused({ ...base, scorer: { type: "regex", pattern: "([" } })).error.code).toBe("invalid_request");
    expect((await refused({ ...base, scorer: { type: "json-schema", schema: { type: "bogus" } } })).error.code).toBe(
      "invalid_request",
    );
  });

  it("a model the LLM router does not serve, for generation or for the judge: 400 naming the field", async () => {
    const managed = { ...base, mode: "managed", scorer: { type: "exact", expected: "x" } };
    expect((await refused({ ...managed, models: ["mcts-weak", "no-such-model"] })).error.issues?.[0]?.path).toEqual([
      "body",
      "models",
      1,
    ]);
    const judge = { type: "llm-judge", model: "no-such-judge", rubric: "right?" };
    expect((await refused({ ...base, scorer: judge })).error.issues?.[0]?.path).toEqual(["body", "scorer", "model"]);
    // Embeddings aliases are not chat models; an admins-only alias is not the caller's.
    expect((await refused({ ...managed, models: ["embed"] })).error.code).toBe("invalid_request");
    expect((await refused({ ...managed, models: ["admins-only"] })).error.code).toBe("invalid_request");
  });

  it("a webhook scorer search gets a signing secret once", async () => {
    const { accessToken: token } = await registerUser();
    const search = await start(token, {
      ...base,
      scorer: { type: "webhook", url: "https://scorer.example.com/score" },
    });
    expect(search.webhookSecret).toMatch(/^whsec_/);
    const again = await json<Created>(await api("GET", `/v1/searches/${search.id}`, { token }));
    expect(again.webhookSecret).toBeUndefined();
  });

  it("ask and tell bodies are checked, and a search id must look like one", async () => {
    const { accessToken: token } = await registerUser();
    const search = await start(token);
    expect((await api("POST", `/v1/searches/${search.id}/ask`, { token, body: { count: 17 } })).status).toBe(400);
    expect((await tell(token, search.id, { ticket: 1, answer: "x", score: 2 })).status).toBe(400);
    expect((await api("GET", "/v1/searches/nope", { token })).status).toBe(400);
    expect((await api("GET", "/v1/searches/srch_AAAAAAAAAAAAAAAAAAAAAA", { token })).status).toBe(404);
  });
});

describe("webhook scorer", () => {
  const url = inject("scorerUrl");
  const payload = { searchId: "srch_test", node: 1, task: "digits please" };
  const net = { resolverUrl: inject("resolverUrl") };
  // allowPrivate: the test scorer listens on loopback, which the route itself refuses (tested above).
  const loopback = { net, allowPrivate: true };
  const guarded = { net, allowPrivate: false };
  /** How many questions the DNS-over-HTTPS double (global-setup.ts) has had about `name`. */
  const resolverQueries = async (name: string) => {
    const res = await fetch(`${new URL(inject("resolverUrl")).origin}/control/queries?name=${name}`);
    return ((await res.json()) as { count: number }).count;
  };

  it("POSTs the answer signed and reads back its score", async () => {
    expect(await scoreByWebhook(`${url}/score`, TEST_SCORER_SECRET, { ...payload, answer: "12ab" }, loopback)).toBe(
      0.5,
    );
    expect(await scoreByWebhook(`${url}/score`, TEST_SCORER_SECRET, { ...payload, answer: "1234" }, loopback)).toBe(1);
  });

  it("a wrong signature, a redirect or a score out of range is the scorer's failure; a private URL is refused", async () => {
    const wrong = `whsec_${btoa("another secret entirely")}`;
    // A 401 and a redirect read like an unreachable host: one message, so the answer maps nothing.
    const unusable = /could not be reached or did not answer 2xx/;
    await expect(scoreByWebhook(`${url}/score`, wrong, { ...payload, answer: "1" }, loopback)).rejects.toThrow(
      unusable,
    );
    await expect(
      scoreByWebhook(`${url}/redirect`, TEST_SCORER_SECRET, { ...payload, answer: "1" }, loopback),
    ).rejects.toThrow(unusable);
    await expect(
      scoreByWebhook(`${url}/out-of-range`, TEST_SCORER_SECRET, { ...payload, answer: "1" }, loopback),
    ).rejects.toThrow(/score/);
    await expect(
      scoreByWebhook(`${url}/score`, TEST_SCORER_SECRET, { ...payload, answer: "1" }, guarded),
    ).rejects.toThrow(/private/);
  });

  it("goes through the outgoing guard: a name that resolves to loopback is refused after its lookup", async () => {
    const before = await resolverQueries("rebind.example");
    await expect(
      scoreByWebhook("http://rebind.example/score", TEST_SCORER_SECRET, { ...payload, answer: "1" }, guarded),
    ).rejects.toThrow(/could not be reached/);
    // The guard asked the resolver (A and AAAA) and refused the loopback address it got.
    expect((await resolverQueries("rebind.example")) - before).toBe(2);
  });
});

describe("managed mode: generation through the LLM router", () => {
  // The test upstream's mcts-* models (tests/support/openai-upstream.ts): a fresh answer gets the first k letters
  // of the TARGET word right, a refinement fixes its parent's first wrong letter, the judge scores the share of
  // letters right. Every call reports 15 tokens.
  const word = "tessera";
  const managed = {
    task: `Spell the secret word. TARGET=${word}`,
    models: ["mcts-weak"],
    algorithm: "sequential-refinement",
    scorer: { type: "exact", expected: word },
    budget: { nodes: 12 },
    seed: 3,
    mode: "managed",
  };
  const TOKENS_PER_CALL = 15;

  async function view(token: string, id: string): Promise<SearchView> {
    const res = await api("GET", `/v1/searches/${id}`, { token });
    expect(res.status, await res.clone().text()).toBe(200);
    return json<SearchView>(res);
  }

  /** Polls (with backoff) until the search satisfies `done`; 60 s at most. */
  async function until(token: string, id: string, done: (v: SearchView) => boolean): Promise<SearchView> {
    const started = Date.now();
    let last = await view(token, id);
    for (let wait = 50; !done(last); wait = Math.min(1000, wait * 2)) {
      if (Date.now() - started > 60_000) throw new Error(`search ${id} never got there: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, wait));
      last = await view(token, id);
    }
    return last;
  }

  const stopped = (v: SearchView) => v.status !== "running";

  async function tree(token: string, id: string): Promise<(NodeView & { depth: number })[]> {
    return (
      await json<{ nodes: (NodeView & { depth: number })[] }>(await api("GET", `/v1/searches/${id}/tree`, { token }))
    ).nodes;
  }

  it("generates a fresh answer, then refinements whose prompts carry the parent, until the exact answer", async () => {
    const { accessToken: token, user } = await registerUser();
    const search = await start(token, managed);
    expect(search.status).toBe("running");
    const done = await until(token, search.id, stopped);
    expect(done).toMatchObject({ status: "done", reason: "score" });
    expect(done.best?.answer).toBe(word);
    const nodes = await tree(token, search.id);
    // "t??????", then each refinement one letter more: 7 answers in a chain.
    expect(nodes.slice(1).map((n) => [n.parent, n.answer])).toEqual(
      Array.from({ length: word.length }, (_, i) => [i, word.slice(0, i + 1) + "?".repeat(word.length - i - 1)]),
    );
    expect(done.used).toMatchObject({ nodes: 7, told: 7, tokens: 7 * TOKENS_PER_CALL });
    // Progress reached the owner's channel and the search's room, search.done included.
    const kinds = async (room: string) =>
      (await keptFrames(room))
        .map((f) => JSON.parse(f) as { data: { kind: string; searchId: string } })
        .filter((f) => f.data.searchId === search.id)
        .map((f) => f.data.kind);
    let roomKinds: string[] = [];
    for (let wait = 10; wait < 5000 && !roomKinds.includes("search.done"); wait *= 2) {
      await new Promise((r) => setTimeout(r, wait));
      roomKinds = await kinds(`search:${search.id}`);
    }
    expect(roomKinds.filter((k) => k === "search.node")).toHaveLength(7);
    expect(roomKinds).toContain("search.done");
    expect(await kinds(`user:${user.id}`)).toContain("search.best");
  }, 90_000);

  it("scores by an llm-judge through the router; AB-MCTS with two models refines what scored well", async () => {
    const { accessToken: token } = await registerUser();
    const search = await start(token, {
      ...managed,
      models: ["mcts-weak", "mcts-strong"],
      algorithm: "ab-mcts-a",
      scorer: { type: "llm-judge", model: "mcts-judge", rubric: "How many letters of the secret word are right?" },
      budget: { nodes: 10 },
    });
    const done = await until(token, search.id, stopped);
    const nodes = (await tree(token, search.id)).slice(1);
    expect(nodes.length).toBe(done.used.told);
    for (const n of nodes) {
      // The judge's score is the share of letters right, read back from its "Score: x" line.
      const right = [...(n.answer ?? "")].filter((c, i) => c === word[i]).length;
      expect(n.score).toBeCloseTo(right / word.length, 3);
    }
    // A refinement is one letter better than its parent.
    const refined = nodes.filter((n) => n.parent !== null && n.parent > 0);
    expect(refined.length).toBeGreaterThan(0);
    for (const n of refined) {
      const parent = nodes.find((p) => p.id === n.parent);
      expect(n.score as number).toBeCloseTo((parent?.score as number) + 1 / word.length, 3);
    }
    // Each node is a generation and a judgement: two router calls.
    expect(done.used.tokens).toBe(nodes.length * 2 * TOKENS_PER_CALL);
    expect(done.best?.score).toBe(Math.max(...nodes.map((n) => n.score as number)));
  }, 90_000);

  it("stops at the token budget, counted from the router's usage", async () => {
    const { accessToken: token } = await registerUser();
    const search = await start(token, { ...managed, budget: { nodes: 12, tokens: 40 } });
    const done = await until(token, search.id, stopped);
    expect(done).toMatchObject({ status: "done", reason: "tokens", used: { told: 3, tokens: 45 } });
  }, 90_000);

  it("stops at the seconds budget", async () => {
    const { accessToken: token } = await registerUser();
    const search = await start(token, {
      ...managed,
      models: ["mcts-slow"],
      task: "An unspellable word. TARGET=abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
      scorer: { type: "exact", expected: "never" },
      budget: { nodes: 500, seconds: 2 },
    });
    const done = await until(token, search.id, stopped);
    expect(done).toMatchObject({ status: "done", reason: "deadline" });
    expect(done.used.told).toBeLessThan(500);
  }, 90_000);

  it("cancels: the generation under way is dropped and no node is added afterwards", async () => {
    const { accessToken: token } = await registerUser();
    const search = await start(token, { ...managed, models: ["mcts-slow"] });
    await until(token, search.id, (v) => v.used.told >= 1);
    const res = await api("DELETE", `/v1/searches/${search.id}`, { token });
    expect(res.status).toBe(200);
    const cancelled = await json<SearchView>(res);
    expect(cancelled.status).toBe("cancelled");
    // Longer than a slow generation: one in flight at the cancel would have been told by now.
    await new Promise((r) => setTimeout(r, 1500));
    const later = await view(token, search.id);
    expect(later).toMatchObject({ status: "cancelled", used: { told: cancelled.used.told } });
    expect(later.best?.answer).not.toBe(word);
  }, 90_000);

  it("a model the router refuses ends the search as failed, with the reason", async () => {
    const { accessToken: token } = await registerUser();
    const search = await start(token, { ...managed, models: ["mcts-refused"] });
    const done = await until(token, search.id, stopped);
    expect(done.status).toBe("failed");
    expect(done.reason).toMatch(/^generation failed: .*context length/);
    expect(done.used.told).toBe(0);
  }, 90_000);

  it("resumes after every object is evicted mid-search, with the very tree an uninterrupted run makes", async () => {
    const { accessToken: token } = await registerUser();
    const body = {
      ...managed,
      models: ["mcts-slow", "mcts-weak"],
      algorithm: "ab-mcts-m",
      scorer: { type: "llm-judge", model: "mcts-judge", rubric: "letters right" },
      budget: { nodes: 8 },
      seed: 11,
    };
    const straight = await start(token, body);
    await until(token, straight.id, stopped);
    const evicted = await start(token, body);
    await until(token, evicted.id, (v) => v.used.told >= 3);
    await abortAllDurableObjects();
    const resumed = await until(token, evicted.id, stopped);
    const shape = async (id: string) => (await tree(token, id)).map((n) => [n.parent, n.model, n.score, n.answer]);
    expect(await shape(evicted.id)).toEqual(await shape(straight.id));
    expect(resumed.status).toBe((await view(token, straight.id)).status);
  }, 120_000);

  it("llm-judge scores an external tell too, reading a fraction, and 0 from a verdict with no number", async () => {
    const { accessToken: token } = await registerUser();
    const cases: [string, number][] = [
      ["mcts-judge", 0.5],
      ["mcts-judge-frac", 0.5],
      ["mcts-judge-mute", 0],
    ];
    for (const [judge, expected] of cases) {
      const search = await start(token, {
        ...base,
        task: "TARGET=abcd",
        scorer: { type: "llm-judge", model: judge, rubric: "letters right" },
      });
      const [a] = await ask(token, search.id);
      const res = await tell(token, search.id, { ticket: a?.ticket, answer: "abxx" });
      expect(res.status, await res.clone().text()).toBe(200);
      expect((await json<{ node: NodeView }>(res)).node.score, judge).toBe(expected);
    }
  }, 60_000);
});
