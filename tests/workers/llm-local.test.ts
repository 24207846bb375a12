// The local provider inside workerd against the real JobBoard, with the test as the GPU worker (its protocol calls
// on the board): pieces reach the stream as they are posted, text the stream missed comes from the result, nothing
// is repeated once bytes went out (a re-leased job ends the stream with an error), and a worker without the model
// answers `unavailable` naming what to provision (docs/llm.md "The local provider").
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { jobBoard } from "../../src/lib/jobs/board";

type BoardClient = ReturnType<typeof jobBoard>;

import type { JobLease } from "../../src/lib/jobs/protocol";
import type { ChatCompletionChunk } from "../../src/lib/llm/openai-shapes";
import { LocalProvider } from "../../src/lib/llm/providers/local";
import { type ProviderChatRequest, ProviderError } from "../../src/lib/llm/providers/types";

const WORKER = `w-local-${crypto.randomUUID()}`;
let board: BoardClient;
const request: ProviderChatRequest = {
  model: "qwen2.5-0.5b-instruct",
  messages: [{ role: "user", content: "hello local" }],
  max_tokens: 16,
  temperature: 0,
};

/** Leases the provider's job as the scripted worker (the provider enqueues it a moment after it is called). */
async function leaseIt(): Promise<JobLease> {
  for (let i = 0; i < 50; i++) {
    const [lease] = await board.lease(WORKER, {
      freeVramMiB: 80_000,
      loadedModels: [],
      types: ["llm.chat"],
      waitMs: 2000,
    });
    if (lease) return lease;
  }
  throw new Error("the provider's job never came");
}

const contents = (batch: ChatCompletionChunk[]) => batch.map((c) => c.choices[0]?.delta.content ?? null);

beforeAll(async () => {
  board = jobBoard(env);
  // A worker that has asked for work, so the provider counts one present (docs/llm.md: without any it fails at once).
  await board.lease(WORKER, { freeVramMiB: 80_000, loadedModels: [], types: ["llm.chat"], waitMs: 0 });
});

describe("the local provider on the job board", () => {
  it("streams the worker's pieces as posted, fills in what the stream missed from the result, then finish and usage", async () => {
    const provider = new LocalProvider(env);
    const streaming = provider.stream(request, new AbortController().signal);
    const lease = await leaseIt();
    expect(lease.options).toMatchObject({
      messages: [{ role: "user", content: "hello local" }],
      max_tokens: 16,
      temperature: 0,
    });
    await board.appendOutput(lease.jobId, lease.leaseId, ["Hel"], WORKER);
    const it = (await streaming)[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value?.[0]?.choices[0]?.delta).toEqual({ role: "assistant", content: "Hel" });
    const second = it.next();
    await board.appendOutput(lease.jobId, lease.leaseId, ["lo"], WORKER);
    expect(contents((await second).value ?? [])).toEqual(["lo"]);
    const last = it.next();
    // " world" never came as a piece (a failed post): the result has it.
    await board.complete(
      lease.jobId,
      lease.leaseId,
      { content: "Hello world", finishReason: "stop", promptTokens: 7, completionTokens: 3 },
      WORKER,
    );
    const tail = (await last).value ?? [];
    expect(contents(tail)).toEqual([" world", null, null]);
    expect(tail[1]?.choices[0]?.finish_reason).toBe("stop");
    expect(tail[2]).toMatchObject({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });
    expect((await it.next()).done).toBe(true);
  });

  it("ends the stream with an error rather than repeat it when the job is leased again after it streamed", async () => {
    const provider = new LocalProvider(env);
    const streaming = provider.stream(request, new AbortController().signal);
    const lease = await leaseIt();
    await board.appendOutput(lease.jobId, lease.leaseId, ["a"], WORKER);
    const it = (await streaming)[Symbol.asyncIterator]();
    await it.next();
    const next = it.next();
    // The worker died; the board gives the job to another attempt (here at once, as giveBack does).
    await board.giveBack([{ jobId: lease.jobId, leaseId: lease.leaseId }]);
    const again = await leaseIt();
    expect(again.jobId).toBe(lease.jobId);
    // The second lease's worker starts the text over: the stream must not relay it.
    await board.appendOutput(again.jobId, again.leaseId, ["a"], WORKER);
    const err = await next.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toContain("restarted after it had streamed");
    // ...and the job is cancelled: the worker is told to stop at its next post.
    await expect(board.appendOutput(again.jobId, again.leaseId, ["b"], WORKER)).resolves.toEqual({
      ok: true,
      value: { cancel: true },
    });
  });

  it("answers unavailable, naming what to provision, when the worker has no model", async () => {
    const provider = new LocalProvider(env);
    const answering = provider.chat(request, new AbortController().signal).catch((e: unknown) => e);
    const lease = await leaseIt();
    await board.fail(
      lease.jobId,
      lease.leaseId,
      "the local LLM provider needs an instruct (chat) GGUF model file for llm-chat-gguf, and none is provisioned (looked for <path>); run `npm run models:fetch` on a machine with internet",
      false,
      WORKER,
    );
    const err = await answering;
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe("unavailable");
    expect((err as ProviderError).message).toContain("npm run models:fetch");
  });
});
