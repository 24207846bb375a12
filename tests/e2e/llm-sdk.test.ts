// The official `openai` SDK, unchanged, against the running suite (`wrangler dev`) with a Tessera access token as
// its API key; LLM_ROUTES points at the local OpenAI-protocol server (tests/support/openai-upstream.ts).
import OpenAI from "openai";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { signUp, type User } from "./users";

const base = inject("workerUrl");
let user: User;
let client: OpenAI;

interface UsageRow {
  completionId: string;
  status: string;
  completionTokens: number;
}

async function usageRow(completionId: string): Promise<UsageRow> {
  for (let wait = 50; wait < 10_000; wait *= 2) {
    const res = await fetch(`${base}/v1/usage`, { headers: { authorization: `Bearer ${user.token}` } });
    const row = ((await res.json()) as { recent: UsageRow[] }).recent.find((r) => r.completionId === completionId);
    if (row) return row;
    await new Promise((r) => setTimeout(r, wait));
  }
  throw new Error(`no usage row for ${completionId}`);
}

beforeAll(async () => {
  user = await signUp("llm");
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: user.token, maxRetries: 0 });
});

describe("the openai SDK", () => {
  it("creates a chat completion", async () => {
    const completion = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "hi sdk" }],
    });
    expect(completion.choices[0]?.message.content).toBe("echo: hi sdk t=none");
    expect(completion.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
  });

  it("streams a chat completion with its usage chunk", async () => {
    const stream = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "stream please" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(content).toBe("echo: stream please t=none");
    expect(usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 5 });
  });

  it("creates embeddings and lists models", async () => {
    const embeddings = await client.embeddings.create({ model: "embed", input: "abc", encoding_format: "float" });
    expect(embeddings.data[0]?.embedding[0]).toBe(3);
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toContain("chat");
  });

  it("surfaces Tessera's errors as the SDK's error classes with type and param", async () => {
    const missing = await client.chat.completions
      .create({ model: "no-such-alias", messages: [{ role: "user", content: "x" }] })
      .catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).type).toBe("invalid_request_error");
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).param).toBe("model");
    const bad = await client.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "x" }], top_p: 3 })
      .catch((err: unknown) => err);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("top_p");
    const anonymous = new OpenAI({ baseURL: `${base}/v1`, apiKey: "not-a-token", maxRetries: 0 });
    await expect(anonymous.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("records usage for a stream the client aborts midway", async () => {
    const stream = await client.chat.completions.create({
      model: "slow-stream",
      messages: [{ role: "user", content: "a long answer" }],
      stream: true,
    });
    let id = "";
    let received = 0;
    for await (const chunk of stream) {
      id = chunk.id;
      if (chunk.choices[0]?.delta.content) received++;
      if (received === 3) {
        stream.controller.abort();
        break;
      }
    }
    expect(id).toMatch(/^chatcmpl-/);
    const row = await usageRow(id);
    expect(row.status).toBe("aborted");
    expect(row.completionTokens).toBeGreaterThan(0);
  });
});
