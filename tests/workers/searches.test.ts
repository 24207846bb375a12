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

  it("managed generation and the llm-judge scorer answer 503 with Retry-After until the router is deployed", async () => {
    const { accessToken: token } = await registerUser();
    const res = await api("POST", "/v1/searches", {
      token,
      body: { ...base, mode: "managed", scorer: { type: "exact", expected: "x" } },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("3600");
    const judge = await api("POST", "/v1/searches", {
      token,
      body: { ...base, scorer: { type: "llm-judge", model: "small", rubric: "correct?" } },
    });
    expect(judge.status).toBe(503);
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

  it("POSTs the answer signed and reads back its score", async () => {
    // allowPrivate: the test scorer listens on loopback, which the route itself refuses (tested above).
    expect(await scoreByWebhook(`${url}/score`, TEST_SCORER_SECRET, { ...payload, answer: "12ab" }, true)).toBe(0.5);
    expect(await scoreByWebhook(`${url}/score`, TEST_SCORER_SECRET, { ...payload, answer: "1234" }, true)).toBe(1);
  });

  it("a wrong signature, a redirect or a score out of range is the scorer's failure; a private URL is refused", async () => {
    const wrong = `whsec_${btoa("another secret entirely")}`;
    await expect(scoreByWebhook(`${url}/score`, wrong, { ...payload, answer: "1" }, true)).rejects.toThrow(/401/);
    await expect(
      scoreByWebhook(`${url}/redirect`, TEST_SCORER_SECRET, { ...payload, answer: "1" }, true),
    ).rejects.toThrow(/302/);
    await expect(
      scoreByWebhook(`${url}/out-of-range`, TEST_SCORER_SECRET, { ...payload, answer: "1" }, true),
    ).rejects.toThrow(/score/);
    await expect(
      scoreByWebhook(`${url}/score`, TEST_SCORER_SECRET, { ...payload, answer: "1" }, false),
    ).rejects.toThrow(/private/);
  });
});
