// A local server that speaks OpenAI's chat and embeddings protocol, for the LLM router's tests and bench. Its
// behaviour is chosen by the model name, so tests never share state by accident:
//   echo*            answers "echo: <last user text> t=<temperature>" (usage 10 + 5), streams it word by word
//   fail500*         500
//   ratelimit-<s>    429 with Retry-After: <s>
//   hang             never answers
//   context          400 "maximum context length exceeded"
//   big-usage        answers with usage of 6000 completion tokens (over the tests' daily budget)
//   slow-stream-<ms> streams 20 words, <ms> apart
//   cut-stream       streams two words and then drops the connection
//   words-<n>        answers (or streams) n words at once (the bench's long stream)
//   switch-<name>    500 or echo, as /control/switch?name=&mode=fail|ok last set (default fail)
//   fusion-json      a fusion synthesis: JSON whose summary lists the inputs the prompt cited ("## Input N (type")
//   mcts-gen-<k>[-slow]  a search's generator (src/lib/orchestration/generate.ts prompts): for a task holding
//                    TARGET=<word>, a fresh answer is the word's first k letters and "?" for the rest; a refinement
//                    (the prompt holds the parent in <answer>…</answer>) fixes the parent's first wrong letter, so
//                    refining improves. -slow answers after 300 ms. Deterministic: the answer is a function of the prompt
//   mcts-judge       the llm-judge: "… Score: <share of the target's letters the <answer> has right>"
//   mcts-judge-frac  the same share as "c/n" without the word "score"
//   mcts-judge-mute  a verdict with no number in it
// Under /v1/… as well as /…, so a Hugging Face endpointUrl (TGI, vLLM: OpenAI's protocol under /v1) works too.
// GET /control/count?model= is how many requests a model has had.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface OpenAiUpstream {
  url: string;
  close(): Promise<void>;
}

interface ChatBody {
  model?: string;
  messages: { role: string; content: unknown }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  temperature?: number;
  input?: string | string[];
}

async function readJson(req: IncomingMessage): Promise<ChatBody> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as ChatBody;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function lastUserText(body: ChatBody): string {
  const last = [...body.messages].reverse().find((m) => m.role === "user");
  if (!last) return "";
  if (typeof last.content === "string") return last.content;
  return (last.content as { type: string; text?: string }[])
    .map((p) => (p.type === "text" ? p.text : `[${p.type}]`))
    .join(" ");
}

/** The search generator's and judge's answers (see the header), or null for other models. */
function mctsReply(model: string, prompt: string): string | null {
  if (!model.startsWith("mcts-")) return null;
  const target = /TARGET=([A-Za-z0-9]+)/.exec(prompt)?.[1] ?? "";
  const given = /<answer>\n([\s\S]*?)\n<\/answer>/.exec(prompt)?.[1];
  const gen = /^mcts-gen-(\d+)/.exec(model);
  if (gen) {
    if (given === undefined) {
      const k = Math.min(target.length, Number(gen[1]));
      return target.slice(0, k) + "?".repeat(target.length - k);
    }
    const letters = [...given.padEnd(target.length, "?").slice(0, target.length)];
    const wrong = letters.findIndex((c, i) => c !== target[i]);
    if (wrong >= 0) letters[wrong] = target[wrong] as string;
    return letters.join("");
  }
  const right = [...(given ?? "")].filter((c, i) => c === target[i]).length;
  const n = Math.max(1, target.length);
  if (model === "mcts-judge") return `The answer has ${right} of the ${n} letters right.\nScore: ${right / n}`;
  if (model === "mcts-judge-frac") return `Partly right; I would give it ${right}/${n}.`;
  return "It reads well.";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startOpenAiUpstream(): Promise<OpenAiUpstream> {
  const sockets = new Set<Socket>();
  const counts = new Map<string, number>();
  const switches = new Map<string, "ok" | "fail">();
  const held: ServerResponse[] = [];

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://upstream");
    const path = url.pathname.replace(/^\/v1(?=\/)/, "");
    if (path === "/control/count") {
      return json(res, 200, { count: counts.get(url.searchParams.get("model") ?? "") ?? 0 });
    }
    if (path === "/control/switch") {
      switches.set(url.searchParams.get("name") ?? "", url.searchParams.get("mode") === "ok" ? "ok" : "fail");
      return json(res, 200, { ok: true });
    }
    if (path === "/models") return json(res, 200, { object: "list", data: [] });
    if (req.method !== "POST") return json(res, 404, { error: { message: "not found" } });
    const body = await readJson(req);
    const model = body.model ?? "tei";
    counts.set(model, (counts.get(model) ?? 0) + 1);

    if (model.startsWith("fail500")) return json(res, 500, { error: { message: "upstream exploded" } });
    if (path === "/" && "inputs" in body) {
      // Text Embeddings Inference (what a Hugging Face endpointUrl serves for feature extraction): bare vectors.
      const inputs = (body as { inputs: string | string[] }).inputs;
      const list = typeof inputs === "string" ? [inputs] : inputs;
      return json(
        res,
        200,
        list.map((text) => [text.length, 0.25]),
      );
    }
    if (path === "/embeddings") {
      const inputs = typeof body.input === "string" ? [body.input] : (body.input ?? []);
      return json(res, 200, {
        object: "list",
        model,
        data: inputs.map((text, index) => ({
          object: "embedding",
          index,
          embedding: [text.length, (text.codePointAt(0) ?? 0) / 1000, 0.5],
        })),
        usage: { prompt_tokens: inputs.length * 3, total_tokens: inputs.length * 3 },
      });
    }
    if (path !== "/chat/completions") return json(res, 404, { error: { message: "not found" } });
    const limited = /^ratelimit-(\d+)$/.exec(model);
    if (limited) {
      return json(
        res,
        429,
        { error: { message: "slow down", type: "rate_limit_error" } },
        { "retry-after": limited[1] ?? "1" },
      );
    }
    if (model === "hang") {
      held.push(res);
      return;
    }
    if (model === "context") {
      return json(res, 400, {
        error: { message: "This model's maximum context length is 8 tokens", code: "context_length_exceeded" },
      });
    }
    const switched = /^switch-(.+)$/.exec(model);
    if (switched && (switches.get(switched[1] ?? "") ?? "fail") === "fail") {
      return json(res, 500, { error: { message: "switched off" } });
    }

    const created = Math.floor(Date.now() / 1000);
    const id = `up-${created}-${counts.get(model)}`;
    if (model === "fusion-json") {
      const cited = [...lastUserText(body).matchAll(/^## Input (\d+) \((\w+)/gm)].map((m) => `${m[1]} ${m[2]}`);
      const content = JSON.stringify({ summary: `Fused inputs: ${cited.join(", ")}.`, entities: [], connections: [] });
      return json(res, 200, {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      });
    }
    const wordCount = Number(/^words-(\d+)$/.exec(model)?.[1] ?? 20);
    const mcts = mctsReply(model, lastUserText(body));
    if (mcts !== null && model.endsWith("-slow")) await sleep(300);
    const text =
      mcts ??
      (model === "cut-stream" || model.startsWith("slow-stream") || model.startsWith("words-")
        ? Array.from({ length: wordCount }, (_, i) => `w${i}`).join(" ")
        : `echo: ${lastUserText(body)} t=${body.temperature ?? "none"}`);
    const usage = {
      prompt_tokens: 10,
      completion_tokens: model === "big-usage" ? 6000 : 5,
      total_tokens: model === "big-usage" ? 6010 : 15,
    };
    if (!body.stream) {
      return json(res, 200, {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
        usage,
      });
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
    const delay = Number(/^slow-stream-(\d+)$/.exec(model)?.[1] ?? 0);
    const words = text.split(" ");
    send({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
    });
    for (const [i, word] of words.entries()) {
      if (model === "cut-stream" && i === 2) {
        await sleep(100); // let what was written reach the client before the connection drops
        res.socket?.destroy();
        return;
      }
      if (delay) await sleep(delay);
      if (res.destroyed) return;
      send({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        choices: [{ index: 0, delta: { content: i ? ` ${word}` : word }, finish_reason: null }],
      });
    }
    send({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
    });
    if (body.stream_options?.include_usage)
      send({ id, object: "chat.completion.chunk", created, model, choices: [], usage });
    res.end("data: [DONE]\n\n");
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of held) r.destroy();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A route table over the test upstream: one alias per behaviour the tests exercise. */
export function testLlmRoutes(upstreamUrl: string, deadUrl: string): string {
  const up = (model: string, extra: Record<string, unknown> = {}) => ({ provider: "up", model, ...extra });
  return JSON.stringify({
    providers: {
      // The test servers are on loopback: each provider says so, as a self-hosted one would.
      up: { type: "openai-compatible", baseUrl: upstreamUrl, apiKeySecret: "LLM_KEY_TEST", allowPrivate: true },
      quick: { type: "openai-compatible", baseUrl: upstreamUrl, timeoutMs: 500, allowPrivate: true },
      hf: { type: "huggingface", endpointUrl: upstreamUrl, allowPrivate: true },
      dead: { type: "openai-compatible", baseUrl: deadUrl, timeoutMs: 2000, allowPrivate: true },
      // The same server without allowPrivate: the outgoing guard must refuse it (tests/workers/llm.test.ts).
      unguarded: { type: "openai-compatible", baseUrl: upstreamUrl },
    },
    aliases: {
      chat: { targets: [up("echo", { price: { prompt: 1, completion: 2 } })] },
      "hf-chat": { targets: [{ provider: "hf", model: "echo-hf" }] },
      "hf-fallback": { targets: [{ provider: "hf", model: "ratelimit-9" }, up("echo-after-hf")] },
      "hf-embed": { kind: "embeddings", targets: [{ provider: "hf", model: "tei" }] },
      "fallback-500": { targets: [up("fail500-fallback"), up("echo-after-500")] },
      "fallback-429": { targets: [up("ratelimit-1"), up("echo-after-429")] },
      "fallback-429-long": { targets: [up("ratelimit-30"), up("echo-after-429-long")] },
      "fallback-hang": { targets: [{ provider: "quick", model: "hang" }, up("echo-after-hang")] },
      "fallback-dead": { targets: [{ provider: "dead", model: "x" }, up("echo-after-dead")] },
      "fallback-context": { targets: [up("context"), up("echo-after-context")] },
      "all-500": { targets: [up("fail500-all")] },
      breaker: { targets: [up("switch-breaker")] },
      weighted: {
        strategy: "weighted",
        targets: [up("echo-w-heavy", { weight: 9 }), up("echo-w-light", { weight: 1 })],
      },
      "big-usage": { targets: [up("big-usage")] },
      "slow-stream": { targets: [up("slow-stream-30")] },
      "cut-stream": { targets: [up("cut-stream")] },
      tune: { targets: [up("echo-tune")] },
      fusion: { targets: [up("fusion-json")] },
      local: { targets: [{ provider: "local", model: "qwen2.5-0.5b-instruct" }] },
      "local-embed": { kind: "embeddings", targets: [{ provider: "local", model: "bge-small-en-v1.5" }] },
      "admins-only": { targets: [up("echo")], roles: ["admin"] },
      "private-provider": { targets: [{ provider: "unguarded", model: "echo-private" }] },
      embed: { kind: "embeddings", targets: [up("fail500-embed"), up("embed-model")] },
      // Searches (tests/workers/searches.test.ts): generators of different skill, judges, a refusing model.
      "mcts-weak": { targets: [up("mcts-gen-1")] },
      "mcts-strong": { targets: [up("mcts-gen-3")] },
      "mcts-slow": { targets: [up("mcts-gen-2-slow")] },
      "mcts-judge": { targets: [up("mcts-judge")] },
      "mcts-judge-frac": { targets: [up("mcts-judge-frac")] },
      "mcts-judge-mute": { targets: [up("mcts-judge-mute")] },
      "mcts-refused": { targets: [up("context")] },
    },
    dailyTokenBudget: 5000,
    retriesPerTarget: 1,
    maxRetryAfterMs: 1500,
    breaker: { failures: 3, openMs: 1000 },
  });
}
