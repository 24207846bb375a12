// `npm run bench:llm`: the LLM router's own cost, on the production runtime (dev/start.ts) in front of a local
// OpenAI-protocol upstream (tests/support/openai-upstream.ts), each call made directly and through Tessera in
// interleaved pairs, one at a time: added latency per non-streamed call (p50, p99), added time to first token when
// streaming, streamed tokens/s through the router vs direct. Then the tuner's regret on a simulated reward, against
// the best fixed preset and against a random choice. Knobs: BENCH_LLM_CALLS (pairs per scenario),
// BENCH_LLM_STREAM_WORDS (tokens in the long stream), BENCH_TUNING_ROUNDS, BENCH_BASELINE_DIST (a bundle built from
// another commit: its router runs as "before" in the same interleaved pairs, on the same database). Beside the
// latencies: workerd's CPU per call (its /proc utime + stime over the phase), which the machine's load moves far
// less than a latency.
import { performance } from "node:perf_hooks";
import { randomToken } from "../src/lib/identity/tokens";
import { WORKER_SECRET_PREFIX } from "../src/lib/jobs/protocol";
import { chooseArm, freshArm, observe, PRESETS } from "../src/lib/llm/tuning";
import { startOpenAiUpstream } from "../tests/support/openai-upstream";
import { beginBench, envInt, failBench, log, startBenchTessera } from "./lib/common";
import { cpuMs, type Target } from "./lib/harness";
import { benchLocalPath } from "./lib/llm-local";

const NAME = "bench:llm";
const CALLS = envInt("BENCH_LLM_CALLS", 300, 10, 10_000);
const STREAM_WORDS = envInt("BENCH_LLM_STREAM_WORDS", 2000, 10, 100_000);
const TUNING_ROUNDS = envInt("BENCH_TUNING_ROUNDS", 500, 10, 100_000);
const LOCAL_RUNS = envInt("BENCH_LLM_LOCAL_RUNS", 20, 1, 1000);
const LOCAL_TOKENS = envInt("BENCH_LLM_LOCAL_TOKENS", 64, 2, 400);
const LOCAL_PACE_MS = envInt("BENCH_LLM_LOCAL_PACE_MS", 20, 1, 1000);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const ms = (v: number) => `${v.toFixed(2)} ms`;

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  return res;
}

/** One streamed call: time to the first content chunk, and to the end. */
async function streamTimes(url: string, body: unknown, headers: Record<string, string>) {
  const start = performance.now();
  const res = await post(url, body, headers);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let first: number | undefined;
  let seen = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
    if (first === undefined && seen.includes('"content":"w')) first = performance.now() - start;
  }
  if (!seen.includes("[DONE]")) throw new Error("stream ended without [DONE]");
  return { ttft: first ?? Number.NaN, total: performance.now() - start };
}

/** Thompson sampling over the presets on Bernoulli rewards, beside the best fixed preset and a random pick. */
function tuningRegret(rounds: number, seed: number) {
  let s = seed >>> 0;
  const random = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  // A task where one preset is clearly best and the rest are mediocre.
  const means = PRESETS.map((_, i) => [0.35, 0.75, 0.55, 0.4, 0.2][i] ?? 0.3);
  const best = Math.max(...means);
  let arms = PRESETS.map(() => freshArm());
  let tsReward = 0;
  let randomReward = 0;
  for (let r = 0; r < rounds; r++) {
    const i = chooseArm(arms, random);
    const score = random() < (means[i] ?? 0) ? 1 : 0;
    tsReward += score;
    arms = arms.map((a, j) => (j === i ? { ...observe(a, { kind: "feedback", score }), pulls: a.pulls + 1 } : a));
    const k = Math.floor(random() * means.length);
    randomReward += random() < (means[k] ?? 0) ? 1 : 0;
  }
  return { best: best * rounds, thompson: tsReward, random: randomReward, arms };
}

async function main(): Promise<void> {
  const end = beginBench(NAME, 600_000);
  const upstream = await startOpenAiUpstream();
  const routes = {
    providers: { up: { type: "openai-compatible", baseUrl: upstream.url, allowPrivate: true } },
    aliases: {
      chat: { targets: [{ provider: "up", model: "echo" }] },
      long: { targets: [{ provider: "up", model: `words-${STREAM_WORDS}` }] },
      local: { targets: [{ provider: "local", model: "tiny-llama" }] },
    },
  };
  const workerSecret = randomToken(WORKER_SECRET_PREFIX);
  const suite = await startBenchTessera(
    "tessera-bench-llm",
    { LLM_ROUTES: JSON.stringify(routes), GPU_WORKER_BOOTSTRAP_SECRET: workerSecret },
    { baselineDist: process.env.BENCH_BASELINE_DIST },
  );
  try {
    const name = `bench${Date.now().toString(36)}`;
    const routers: { label: string; target: Target; auth: Record<string, string> }[] = [];
    for (const [label, target] of [
      ["router", suite.tessera],
      ["before", suite.before],
    ] as const) {
      if (!target) continue;
      const base = target.url.replace(/\/$/, "");
      const user = `${name}${label}`;
      const reg = await post(
        `${base}/v1/auth/register`,
        { username: user, email: `${user}@example.com`, password: "bench password 1" },
        {},
      );
      const token = ((await reg.json()) as { accessToken: string }).accessToken;
      routers.push({ label, target, auth: { authorization: `Bearer ${token}` } });
    }
    const message = { messages: [{ role: "user", content: "hello bench" }] };
    const url = (t: Target) => `${t.url.replace(/\/$/, "")}/v1/chat/completions`;

    // Warm every path (isolate start, connection pools, the first KV and database calls).
    for (let i = 0; i < 20; i++) {
      await (await post(`${upstream.url}/chat/completions`, { model: "echo", ...message }, {})).text();
      for (const r of routers) await (await post(url(r.target), { model: "chat", ...message }, r.auth)).text();
    }

    const direct: number[] = [];
    const routed = new Map(routers.map((r) => [r.label, [] as number[]]));
    const cpuBefore = new Map(routers.map((r) => [r.label, cpuMs(r.target.pids)]));
    for (let i = 0; i < CALLS; i++) {
      let t = performance.now();
      await (await post(`${upstream.url}/chat/completions`, { model: "echo", ...message }, {})).text();
      direct.push(performance.now() - t);
      for (const r of routers) {
        t = performance.now();
        await (await post(url(r.target), { model: "chat", ...message }, r.auth)).text();
        routed.get(r.label)?.push(performance.now() - t);
      }
    }
    // Usage rows and breaker reports go out after the answer: wait for them before reading the CPU.
    await new Promise((r) => setTimeout(r, 2000));
    log();
    log(`non-streamed, ${CALLS} interleaved calls each, one at a time:`);
    log(`  direct   p50 ${ms(percentile(direct, 50))}  p99 ${ms(percentile(direct, 99))}`);
    for (const r of routers) {
      const list = routed.get(r.label) ?? [];
      const cpu = ((cpuMs(r.target.pids) - (cpuBefore.get(r.label) ?? 0)) * 1000) / CALLS;
      log(
        `  ${r.label.padEnd(8)} p50 ${ms(percentile(list, 50))}  p99 ${ms(percentile(list, 99))}; ` +
          `added p50 ${ms(percentile(list, 50) - percentile(direct, 50))}; workerd CPU ${Math.round(cpu)} µs/call`,
      );
    }

    const streams = Math.max(5, Math.floor(CALLS / 10));
    const dTtft: number[] = [];
    const dRate: number[] = [];
    const rTtft = new Map(routers.map((r) => [r.label, [] as number[]]));
    const rRate = new Map(routers.map((r) => [r.label, [] as number[]]));
    const streamBody = { ...message, stream: true };
    const streamCpu = new Map(routers.map((r) => [r.label, cpuMs(r.target.pids)]));
    for (let i = 0; i < streams; i++) {
      const d = await streamTimes(
        `${upstream.url}/chat/completions`,
        { model: `words-${STREAM_WORDS}`, ...streamBody },
        {},
      );
      dTtft.push(d.ttft);
      dRate.push(STREAM_WORDS / ((d.total - d.ttft) / 1000));
      for (const r of routers) {
        const x = await streamTimes(url(r.target), { model: "long", ...streamBody }, r.auth);
        rTtft.get(r.label)?.push(x.ttft);
        rRate.get(r.label)?.push(STREAM_WORDS / ((x.total - x.ttft) / 1000));
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
    log();
    log(`streamed, ${streams} interleaved calls each of a ${STREAM_WORDS}-token stream:`);
    log(
      `  direct   time to first token p50 ${ms(percentile(dTtft, 50))}, tokens/s after it p50 ${Math.round(percentile(dRate, 50))}`,
    );
    for (const r of routers) {
      const cpu = ((cpuMs(r.target.pids) - (streamCpu.get(r.label) ?? 0)) * 1000) / (streams * STREAM_WORDS);
      log(
        `  ${r.label.padEnd(8)} time to first token p50 ${ms(percentile(rTtft.get(r.label) ?? [], 50))}, ` +
          `tokens/s after it p50 ${Math.round(percentile(rRate.get(r.label) ?? [], 50))}; workerd CPU ${cpu.toFixed(1)} µs/token`,
      );
    }

    log();
    log(
      `local provider (GPU worker in this process, llama.cpp on a tiny GGUF), ${LOCAL_RUNS} streams of ${LOCAL_TOKENS} tokens:`,
    );
    await benchLocalPath({
      base: suite.tessera.url.replace(/\/$/, ""),
      token: (routers[0]?.auth.authorization ?? "").replace(/^Bearer /, ""),
      workerSecret,
      runs: LOCAL_RUNS,
      tokens: LOCAL_TOKENS,
      paceMs: LOCAL_PACE_MS,
    });

    const tuning = tuningRegret(TUNING_ROUNDS, 7);
    log();
    log(`tuning, ${TUNING_ROUNDS} feedback rounds on simulated Bernoulli rewards (best preset p = 0.75):`);
    log(
      `  regret vs the best fixed preset: ${(tuning.best - tuning.thompson).toFixed(0)} (${((1 - tuning.thompson / tuning.best) * 100).toFixed(1)} % of its reward)`,
    );
    log(
      `  reward vs random choice: ${tuning.thompson} vs ${tuning.random} (random's regret ${(tuning.best - tuning.random).toFixed(0)})`,
    );
    log(`  pulls per preset: ${PRESETS.map((p, i) => `${p.name} ${tuning.arms[i]?.pulls ?? 0}`).join(", ")}`);
  } finally {
    await suite.close();
    await upstream.close();
    end();
  }
}

main().catch(failBench(NAME));
