// The LLM router inside workerd against a real OpenAI-protocol server (tests/support/openai-upstream.ts), routed by
// the LLM_ROUTES the workers config builds from it: shapes, fallbacks, retries, breakers, cache, usage, budgets.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { completeChat } from "../../src/lib/llm/complete";
import { LLM_ADMIN_ROOM } from "../../src/lib/llm/targets";
import { api, apiPatient, createAdmin, json, keptFrames, registerUser } from "./support";

const upstream = inject("llmUpstreamUrl");

interface Completion {
  id: string;
  object: string;
  model: string;
  choices: { index: number; message: { role: string; content: string }; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}
interface ErrorShape {
  error: { code: string; message: string; type: string; param: string | null; requestId: string };
}
interface Usage {
  totals: { requests: number; promptTokens: number; completionTokens: number; costUsd: number };
  recent: { completionId: string; alias: string; status: string; cacheHit: boolean; completionTokens: number }[];
}

async function upstreamCount(model: string): Promise<number> {
  const res = await fetch(`${upstream}/control/count?model=${encodeURIComponent(model)}`);
  return ((await res.json()) as { count: number }).count;
}

const chat = (
  token: string,
  model: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) =>
  api("POST", "/v1/chat/completions", {
    token,
    headers,
    body: { model, messages: [{ role: "user", content: "hello there" }], ...extra },
  });

/** Usage rows are written after the answer (waitUntil): poll until `done` holds. */
async function usageUntil(token: string, done: (u: Usage) => boolean): Promise<Usage> {
  let last: Usage | undefined;
  for (let wait = 25; wait < 5000; wait *= 2) {
    last = await json<Usage>(await api("GET", "/v1/usage", { token }));
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, wait));
  }
  throw new Error(`usage never reached the expected state: ${JSON.stringify(last)}`);
}

let user: { accessToken: string; user: { id: string } };
beforeAll(async () => {
  user = await registerUser();
});

describe("chat completions", () => {
  it("answers in OpenAI's shape with usage, its own id, the target and cache status, and records usage", async () => {
    const res = await chat(user.accessToken, "chat");
    expect(res.status).toBe(200);
    const body = await json<Completion>(res);
    expect(body.object).toBe("chat.completion");
    expect(body.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(body.choices[0]?.message).toEqual({ role: "assistant", content: "echo: hello there t=none" });
    expect(body.usage).toEqual({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
    expect(res.headers.get("x-tessera-target")).toBe("up/echo");
    expect(res.headers.get("x-tessera-cache")).toBe("bypass");
    const usage = await usageUntil(user.accessToken, (u) => u.recent.some((r) => r.completionId === body.id));
    const row = usage.recent.find((r) => r.completionId === body.id);
    expect(row).toMatchObject({ alias: "chat", status: "ok", cacheHit: false, completionTokens: 5 });
    // price {prompt: 1, completion: 2} per million tokens
    expect(usage.totals.costUsd).toBeCloseTo((10 * 1 + 5 * 2) / 1e6, 12);
  });

  it("passes image parts, response_format and tools through to the provider", async () => {
    const res = await api("POST", "/v1/chat/completions", {
      token: user.accessToken,
      body: {
        model: "chat",
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "what is this" },
              { type: "image_url", image_url: { url: "data:image/png;base64,AAAA", detail: "low" } },
            ],
          },
        ],
        response_format: { type: "json_object" },
        tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }],
        tool_choice: "auto",
        temperature: 0.5,
      },
    });
    expect(res.status).toBe(200);
    expect((await json<Completion>(res)).choices[0]?.message.content).toBe("echo: what is this [image_url] t=0.5");
  });

  it("is callable in process with completeChat, through the same router and usage", async () => {
    const waits: Promise<unknown>[] = [];
    const ctx = {
      waitUntil: (p: Promise<unknown>) => waits.push(p),
      passThroughOnException() {},
    } as unknown as ExecutionContext;
    const completion = await completeChat(
      env,
      ctx,
      { userId: user.user.id, roles: ["user"] },
      {
        model: "chat",
        messages: [{ role: "user", content: "from another service" }],
      },
    );
    expect(completion.choices[0]?.message.content).toBe("echo: from another service t=none");
    await Promise.all(waits);
    const usage = await usageUntil(user.accessToken, (u) => u.recent.some((r) => r.completionId === completion.id));
    expect(usage.recent.find((r) => r.completionId === completion.id)?.status).toBe("ok");
  });

  it("refuses an unknown model with 404 and OpenAI's type and param", async () => {
    const res = await chat(user.accessToken, "no-such-model");
    expect(res.status).toBe(404);
    const body = await json<ErrorShape>(res);
    expect(body.error).toMatchObject({ code: "not_found", type: "invalid_request_error", param: "model" });
    expect(body.error.requestId).toBeTruthy();
  });

  it("refuses an invalid parameter with 400 naming it", async () => {
    const res = await chat(user.accessToken, "chat", { temperature: 7 });
    expect(res.status).toBe(400);
    const body = await json<ErrorShape>(res);
    expect(body.error).toMatchObject({ code: "invalid_request", type: "invalid_request_error", param: "temperature" });
  });

  it("requires a token, and refuses an alias limited to roles the caller lacks", async () => {
    expect((await chat("", "chat")).status).toBe(401);
    const res = await chat(user.accessToken, "admins-only");
    expect(res.status).toBe(403);
    expect((await json<ErrorShape>(res)).error.type).toBe("permission_error");
  });

  it("says what to provision when the local provider has no model, naming no disk path", async () => {
    const res = await chat(user.accessToken, "local");
    expect(res.status).toBe(503);
    const { error } = await json<ErrorShape>(res);
    expect(error.message).toContain("an instruct GGUF (llm-chat-gguf)");
    expect(error.message).toContain("npm run models:fetch");
    expect(error.message).not.toMatch(/\/(home|root|tmp|var|models)\//);
  });
});

describe("fallback and retries", () => {
  it("falls back to the next target on a 500 after one retry of the first", async () => {
    const before = await upstreamCount("fail500-fallback");
    const res = await chat(user.accessToken, "fallback-500");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tessera-target")).toBe("up/echo-after-500");
    expect((await upstreamCount("fail500-fallback")) - before).toBe(2);
  });

  it("waits out a short Retry-After on a 429, retries once, then falls back", async () => {
    const before = await upstreamCount("ratelimit-1");
    const started = Date.now();
    const res = await chat(user.accessToken, "fallback-429");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tessera-target")).toBe("up/echo-after-429");
    expect((await upstreamCount("ratelimit-1")) - before).toBe(2);
    // The retry honoured Retry-After: 1 (a lower bound only; no upper bound on a loaded machine).
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it("falls back at once when Retry-After is longer than the router will wait", async () => {
    const before = await upstreamCount("ratelimit-30");
    const res = await chat(user.accessToken, "fallback-429-long");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tessera-target")).toBe("up/echo-after-429-long");
    expect((await upstreamCount("ratelimit-30")) - before).toBe(1);
  });

  it("falls back when a target hangs past its timeout, and when it cannot be reached", async () => {
    const hung = await chat(user.accessToken, "fallback-hang");
    expect(hung.status).toBe(200);
    expect(hung.headers.get("x-tessera-target")).toBe("up/echo-after-hang");
    const dead = await chat(user.accessToken, "fallback-dead");
    expect(dead.status).toBe(200);
    expect(dead.headers.get("x-tessera-target")).toBe("up/echo-after-dead");
  });

  it("sends nothing to a provider on a loopback address that the route table did not allow", async () => {
    const res = await chat(user.accessToken, "private-provider");
    expect(res.status).toBeGreaterThanOrEqual(500);
    const body = await json<ErrorShape>(res);
    // One generic reason: the answer does not tell a refused address from a closed port.
    expect(body.error.message).not.toMatch(/127\.0\.0\.1|private|loopback/i);
    expect(await upstreamCount("echo-private")).toBe(0);
  });

  it("falls back on a context-length error without retrying it", async () => {
    const before = await upstreamCount("context");
    const res = await chat(user.accessToken, "fallback-context");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tessera-target")).toBe("up/echo-after-context");
    expect((await upstreamCount("context")) - before).toBe(1);
  });

  it("bounds retries and answers 503 with Retry-After when every target fails", async () => {
    const before = await upstreamCount("fail500-all");
    const res = await chat(user.accessToken, "all-500");
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await json<ErrorShape>(res)).error).toMatchObject({ code: "unavailable", type: "api_error" });
    expect((await upstreamCount("fail500-all")) - before).toBe(2);
  });

  it("spreads a weighted alias over its targets by weight", async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const res = await chat(user.accessToken, "weighted");
      const t = res.headers.get("x-tessera-target") ?? "";
      seen.set(t, (seen.get(t) ?? 0) + 1);
    }
    expect(seen.get("up/echo-w-heavy") ?? 0).toBeGreaterThan(seen.get("up/echo-w-light") ?? 0);
  }, 60_000);
});

describe("breakers", () => {
  it("opens after repeated failures, refuses without calling the target, and recovers through half-open", async () => {
    const admin = await createAdmin();
    await fetch(`${upstream}/control/switch?name=breaker&mode=fail`);
    // 2 calls × 2 attempts = 4 failures ≥ the threshold of 3.
    for (let i = 0; i < 2; i++) expect((await chat(user.accessToken, "breaker")).status).toBe(503);
    const count = await upstreamCount("switch-breaker");
    const refused = await chat(user.accessToken, "breaker");
    expect(refused.status).toBe(503);
    expect((await json<ErrorShape>(refused)).error.message).toContain("circuit open");
    expect(await upstreamCount("switch-breaker")).toBe(count);

    const open = await json<{ targets: { target: string; state: string; failures: number; lastError: unknown }[] }>(
      await api("GET", "/v1/llm/providers", { token: admin.accessToken }),
    );
    const entry = open.targets.find((t) => t.target === "up/switch-breaker");
    expect(entry?.state).toBe("open");
    expect(entry?.failures).toBeGreaterThanOrEqual(3);
    expect(entry?.lastError).toMatchObject({ message: "provider 'up' answered 500" });

    await fetch(`${upstream}/control/switch?name=breaker&mode=ok`);
    // Open for 1 s, then one probe is let through: poll until it has been.
    let res = refused;
    for (let wait = 100; res.status !== 200 && wait < 10_000; wait *= 2) {
      await new Promise((r) => setTimeout(r, wait));
      res = await chat(user.accessToken, "breaker");
    }
    expect(res.status).toBe(200);
    const closed = await json<{ targets: { target: string; state: string; latencyMs: { p50: number | null } }[] }>(
      await api("GET", "/v1/llm/providers", { token: admin.accessToken }),
    );
    const after = closed.targets.find((t) => t.target === "up/switch-breaker");
    expect(after?.state).toBe("closed");
    expect(after?.latencyMs.p50).not.toBeNull();
    // Each change of state went to the admins' hub room (published through waitUntil: poll).
    let history: string[] = [];
    for (let wait = 25; wait < 5000; wait *= 2) {
      history = (await keptFrames(LLM_ADMIN_ROOM)).filter((e) => e.includes("up/switch-breaker"));
      if (history.some((e) => e.includes('"to":"closed"'))) break;
      await new Promise((r) => setTimeout(r, wait));
    }
    expect(history.some((e) => e.includes('"event":"llm.breaker"') && e.includes('"to":"open"'))).toBe(true);
    expect(history.some((e) => e.includes('"to":"closed"'))).toBe(true);
  });

  it("is for admins only", async () => {
    expect((await api("GET", "/v1/llm/providers", { token: user.accessToken })).status).toBe(403);
  });
});

describe("cache", () => {
  it("answers a repeated deterministic request from the cache, and bypasses it on Cache-Control: no-cache", async () => {
    const content = `cache me ${crypto.randomUUID()}`;
    const body = { messages: [{ role: "user", content }], temperature: 0 };
    const first = await api("POST", "/v1/chat/completions", {
      token: user.accessToken,
      body: { model: "chat", ...body },
    });
    expect(first.headers.get("x-tessera-cache")).toBe("miss");
    const firstBody = await json<Completion>(first);
    const before = await upstreamCount("echo");
    let second = first;
    // The cache write is a waitUntil: poll until it has landed.
    for (let wait = 25; second.headers.get("x-tessera-cache") !== "hit" && wait < 5000; wait *= 2) {
      await new Promise((r) => setTimeout(r, wait));
      // Same request, keys in another order: the canonical form is the same.
      second = await api("POST", "/v1/chat/completions", {
        token: user.accessToken,
        body: { messages: body.messages, model: "chat", temperature: 0 },
      });
    }
    expect(second.headers.get("x-tessera-cache")).toBe("hit");
    const secondBody = await json<Completion>(second);
    expect(secondBody.choices).toEqual(firstBody.choices);
    expect(secondBody.id).not.toBe(firstBody.id);
    const hits = await upstreamCount("echo");
    const bypass = await api("POST", "/v1/chat/completions", {
      token: user.accessToken,
      headers: { "Cache-Control": "no-cache" },
      body: { model: "chat", ...body },
    });
    expect(bypass.headers.get("x-tessera-cache")).toBe("bypass");
    expect(await upstreamCount("echo")).toBe(hits + 1);
    expect(hits).toBeGreaterThanOrEqual(before);
  });

  it("never caches a request with sampling (no temperature 0, no seed)", async () => {
    const res = await chat(user.accessToken, "chat", { temperature: 0.7 });
    expect(res.headers.get("x-tessera-cache")).toBe("bypass");
  });
});

describe("budgets", () => {
  it("refuses a user whose daily tokens are spent with 429 budget_exceeded and Retry-After", async () => {
    const spender = await registerUser();
    expect((await chat(spender.accessToken, "big-usage")).status).toBe(200);
    await usageUntil(spender.accessToken, (u) => u.totals.completionTokens >= 6000);
    const res = await chat(spender.accessToken, "chat");
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await json<ErrorShape>(res)).error).toMatchObject({ code: "budget_exceeded", type: "insufficient_quota" });
    // Another user is unaffected.
    expect((await chat(user.accessToken, "chat")).status).toBe(200);
  });
});

describe("streaming", () => {
  it("streams chunks as SSE ending in [DONE], with a usage chunk when asked", async () => {
    const res = await chat(user.accessToken, "chat", { stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const events = text.split("\n\n").filter(Boolean);
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice("data: ".length)));
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(content).toBe("echo: hello there t=none");
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    });
  });

  it("sends no usage chunk unless asked", async () => {
    const text = await (await chat(user.accessToken, "chat", { stream: true })).text();
    expect(text).not.toContain('"usage":{');
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("falls back before the first byte, and ends a stream the provider cuts with an error event and usage", async () => {
    const fell = await chat(user.accessToken, "fallback-500", { stream: true });
    expect(fell.headers.get("x-tessera-target")).toBe("up/echo-after-500");
    expect(await fell.text()).toContain("[DONE]");
    const cut = await chat(user.accessToken, "cut-stream", { stream: true });
    expect(cut.status).toBe(200);
    const text = await cut.text();
    expect(text).toContain('"code":"upstream_error"');
    const id = cut.headers.get("x-tessera-completion-id") ?? "";
    const usage = await usageUntil(user.accessToken, (u) => u.recent.some((r) => r.completionId === id));
    expect(usage.recent.find((r) => r.completionId === id)?.status).toBe("error");
  });
});

describe("models and embeddings", () => {
  it("lists the aliases the caller may use", async () => {
    const body = await json<{ object: string; data: { id: string; object: string }[] }>(
      await api("GET", "/v1/models", { token: user.accessToken }),
    );
    expect(body.object).toBe("list");
    const ids = body.data.map((m) => m.id);
    expect(ids).toContain("chat");
    expect(ids).not.toContain("admins-only");
  });

  it("embeds through the router with fallback, and refuses a chat alias", async () => {
    const res = await api("POST", "/v1/embeddings", {
      token: user.accessToken,
      body: { model: "embed", input: ["ab", "c"] },
    });
    expect(res.status).toBe(200);
    const body = await json<{ object: string; data: { index: number; embedding: number[] }[]; usage: unknown }>(res);
    expect(body.data.map((d) => d.embedding[0])).toEqual([2, 1]);
    expect(body.usage).toEqual({ prompt_tokens: 6, total_tokens: 6 });
    expect(
      (await api("POST", "/v1/embeddings", { token: user.accessToken, body: { model: "chat", input: "x" } })).status,
    ).toBe(404);
  });
});

describe("providers", () => {
  it("reaches a Hugging Face endpointUrl (TGI/vLLM's OpenAI protocol under /v1)", async () => {
    const res = await chat(user.accessToken, "hf-chat");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tessera-target")).toBe("hf/echo-hf");
    expect((await json<Completion>(res)).choices[0]?.message.content).toBe("echo: hello there t=none");
    const streamed = await (await chat(user.accessToken, "hf-chat", { stream: true })).text();
    expect(streamed).toContain('"content":" there"');
    expect(streamed.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("maps a Hugging Face refusal onto the router's kinds (a long 429 falls back at once)", async () => {
    const before = await upstreamCount("ratelimit-9");
    const res = await chat(user.accessToken, "hf-fallback");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tessera-target")).toBe("up/echo-after-hf");
    expect((await upstreamCount("ratelimit-9")) - before).toBe(1);
  });

  it("embeds through Hugging Face feature extraction at an endpointUrl", async () => {
    const res = await api("POST", "/v1/embeddings", {
      token: user.accessToken,
      body: { model: "hf-embed", input: ["abcd"] },
    });
    expect(res.status).toBe(200);
    expect((await json<{ data: { embedding: number[] }[] }>(res)).data[0]?.embedding).toEqual([4, 0.25]);
  });

  it("accepts a service credential with the llm scope, and records usage under it", async () => {
    const admin = await createAdmin();
    const issued = await json<{ id: string; secret: string }>(
      await api("POST", "/v1/admin/service-credentials", {
        token: admin.accessToken,
        body: { name: "orchestrator", scopes: ["llm"] },
      }),
    );
    const res = await chat(issued.secret, "chat");
    expect(res.status).toBe(200);
    const usage = await usageUntil(issued.secret, (u) => u.totals.requests >= 1);
    expect(usage.recent[0]?.alias).toBe("chat");
  });
});

describe("tuning", () => {
  /** A small seeded generator, so the simulated rewards are the same on every run. */
  function seeded(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }

  it('converges on the preset a simulated reward favours, from feedback on params: "auto" completions', async () => {
    const admin = await createAdmin();
    const tuner = await registerUser();
    const random = seeded(17);
    // "focused" is good 90 % of the time, every other preset 20 %.
    const reward = (preset: string) => (random() < (preset === "focused" ? 0.9 : 0.2) ? 1 : 0);
    const picks: string[] = [];
    for (let round = 0; round < 80; round++) {
      const res = await apiPatient("POST", "/v1/chat/completions", {
        token: tuner.accessToken,
        body: {
          model: "tune",
          messages: [{ role: "user", content: "hello there" }],
          tessera: { params: "auto", task: "reasoning" },
        },
      });
      expect(res.status).toBe(200);
      const preset = res.headers.get("x-tessera-preset") ?? "";
      picks.push(preset);
      const { id } = await json<Completion>(res);
      const fb = await apiPatient("POST", "/v1/feedback", {
        token: tuner.accessToken,
        body: { completion_id: id, score: reward(preset) },
      });
      expect(fb.status).toBe(202);
    }
    const late = picks.slice(-20);
    expect(late.filter((p) => p === "focused").length).toBeGreaterThanOrEqual(10);
    const state = await json<{
      tuning: { task: string; model: string; arms: { preset: string; mean: number; pulls: number }[] }[];
    }>(await api("GET", "/v1/llm/tuning", { token: admin.accessToken }));
    const arms = state.tuning.find((t) => t.task === "reasoning" && t.model === "tune")?.arms ?? [];
    const best = [...arms].sort((a, b) => b.mean - a.mean)[0];
    expect(best?.preset).toBe("focused");
    expect(arms.reduce((n, a) => n + a.pulls, 0)).toBe(80);
  }, 180_000); // 160 requests: generous for a loaded machine

  it("keeps the caller's own parameters over the preset's", async () => {
    const res = await chat(user.accessToken, "tune", { temperature: 0.25, tessera: { params: "auto" } });
    expect(res.headers.get("x-tessera-preset")).toBeTruthy();
    expect((await json<Completion>(res)).choices[0]?.message.content).toMatch(/t=0\.25$/);
  });

  it("takes feedback once, only from the completion's own caller", async () => {
    const res = await chat(user.accessToken, "tune", { tessera: { params: "auto", task: "general" } });
    const { id } = await json<Completion>(res);
    const other = await registerUser();
    const stranger = await api("POST", "/v1/feedback", {
      token: other.accessToken,
      body: { completion_id: id, score: 1 },
    });
    expect(stranger.status).toBe(404);
    expect(
      (await api("POST", "/v1/feedback", { token: user.accessToken, body: { completion_id: id, score: 1 } })).status,
    ).toBe(202);
    expect(
      (await api("POST", "/v1/feedback", { token: user.accessToken, body: { completion_id: id, score: 1 } })).status,
    ).toBe(409);
    const bad = await api("POST", "/v1/feedback", { token: user.accessToken, body: { completion_id: id, score: 3 } });
    expect(bad.status).toBe(400);
  });
});

describe("legacy adapters", () => {
  it("serves the old parameter service: parameters within constraints, feedback by task_id, analytics", async () => {
    const caller = await registerUser();
    const res = await api("POST", "/api/v1/parameters", {
      token: caller.accessToken,
      body: {
        id: `legacy-${crypto.randomUUID()}`,
        model: "legacy-model",
        prompt: "Summarize this report for me",
        constraints: { temperature_range: [0.2, 0.4], max_tokens_limit: 256, top_p_range: [0.5, 0.9] },
      },
    });
    expect(res.status).toBe(200);
    const params = await json<{
      id: string;
      temperature: number;
      top_p: number;
      max_tokens: number;
      reasoning: string[];
    }>(res);
    expect(params.temperature).toBeGreaterThanOrEqual(0.2);
    expect(params.temperature).toBeLessThanOrEqual(0.4);
    expect(params.top_p).toBeLessThanOrEqual(0.9);
    expect(params.max_tokens).toBeLessThanOrEqual(256);
    expect(params.reasoning[0]).toBe("task classified as summarization");
    const fb = await api("POST", "/api/v1/feedback", {
      token: caller.accessToken,
      body: {
        task_id: params.id,
        quality_score: 0.8,
        task_type: "summarization",
        latency_ms: 120,
        error_occurred: false,
      },
    });
    expect(fb.status).toBe(200);
    expect(await json(fb)).toMatchObject({ status: "accepted" });
    const analytics = await json<{
      total_requests: number;
      task_distribution: Record<string, number>;
      model_performance: Record<string, unknown>;
    }>(await api("GET", "/api/v1/analytics", { token: caller.accessToken }));
    expect(analytics.total_requests).toBeGreaterThanOrEqual(1);
    expect(analytics.task_distribution.summarization).toBeGreaterThanOrEqual(1);
    expect(analytics.model_performance["legacy-model"]).toBeTruthy();
  });

  it("answers the old LLMRequest with an LLMResponse through the router", async () => {
    const res = await api("POST", "/api/v1/llm", {
      token: user.accessToken,
      body: { model: "fallback-500", messages: [{ role: "user", content: "old client" }], context_id: "ctx-1" },
    });
    expect(res.status).toBe(200);
    const body = await json<Record<string, unknown>>(res);
    expect(body).toMatchObject({
      content: "echo: old client t=none",
      provider: "up",
      tokens_used: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      finish_reason: "stop",
      metadata: { context_id: "ctx-1" },
    });
    expect(typeof body.execution_time_ms).toBe("number");
  });
});
