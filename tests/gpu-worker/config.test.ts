// Configuration is checked once at start, and every mistake is reported with where it is.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_MODELS_FILE, loadConfig, parseModelsFile } from "../../gpu-worker/config";

const SECRET = `tgw_${"a".repeat(40)}`;
const base = { TESSERA_URL: "http://127.0.0.1:8787", GPU_WORKER_SECRET: SECRET };
let dir: string;

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tessera-gpu-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("worker configuration", () => {
  it("has working defaults: CPU, a 24 GiB budget, the committed models file serving every job type", () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({ device: "cpu", budgetMiB: 24_576, maxJobs: 4, modelsFile: DEFAULT_MODELS_FILE });
    expect(config.types.sort()).toEqual([
      "document.extract",
      "llm.chat",
      "llm.embed",
      "speech",
      "transcribe",
      "vision.classify",
      "vision.detect",
      "vision.ocr",
    ]);
    expect(config.models.find((m) => m.id === "whisper-large-v3-ggml")?.path).toMatch(
      /\.data\/models\/ggml-large-v3\.bin$/,
    );
  });

  it("names each missing or wrong variable, all at once", () => {
    expect(problems({})).toEqual([
      expect.stringContaining("TESSERA_URL is required"),
      expect.stringContaining("GPU_WORKER_SECRET is required"),
    ]);
    const all = problems({
      TESSERA_URL: "ftp://x",
      GPU_WORKER_SECRET: "secret",
      GPU_WORKER_DEVICE: "tpu",
      GPU_WORKER_VRAM_BUDGET_MIB: "lots",
      GPU_WORKER_MAX_JOBS: "0",
    });
    expect(all).toEqual([
      "TESSERA_URL must be an http(s) URL",
      "GPU_WORKER_SECRET must be a worker credential: tgw_ and at least 32 more characters",
      'GPU_WORKER_DEVICE must be "cpu" or "cuda"',
      expect.stringContaining('GPU_WORKER_VRAM_BUDGET_MIB must be an integer in 1..1048576 (got "lots")'),
      expect.stringContaining("GPU_WORKER_MAX_JOBS must be an integer"),
    ]);
  });

  it("rejects an unknown job type in GPU_WORKER_TYPES and a missing models file", () => {
    expect(problems({ ...base, GPU_WORKER_TYPES: "speech,painting" })).toEqual([
      expect.stringContaining('unknown job type "painting"'),
    ]);
    expect(problems({ ...base, GPU_WORKER_MODELS: join(dir, "nope.json") })).toEqual([
      expect.stringContaining("no models file at"),
    ]);
  });

  it("serves only the types in GPU_WORKER_TYPES", () => {
    expect(loadConfig({ ...base, GPU_WORKER_TYPES: "speech, vision.ocr" }).types).toEqual(["speech", "vision.ocr"]);
  });

  it("names the models file's entry and field for each mistake", async () => {
    const file = join(dir, "models.json");
    const text = JSON.stringify({
      models: [
        { id: "espeak-ng", backend: "festival", vramMiB: 0 },
        { id: "paddleocr-v4", backend: "paddleocr", vramMiB: -1, concurrency: 0, colour: "red" },
      ],
    });
    let err: unknown;
    try {
      parseModelsFile(text, file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const list = (err as ConfigError).problems;
    expect(list).toContainEqual(expect.stringMatching(/models\[0\] \(espeak-ng\)\.backend: backend must be one of/));
    expect(list).toContainEqual(expect.stringMatching(/models\[1\] \(paddleocr-v4\)\.vramMiB/));
    expect(list).toContainEqual(expect.stringMatching(/models\[1\] \(paddleocr-v4\)\.concurrency/));
    expect(list).toContainEqual(expect.stringMatching(/models\[1\] \(paddleocr-v4\).*colour/));
    const twice = { id: "paddleocr-v4", backend: "paddleocr", vramMiB: 1 };
    expect(() => parseModelsFile(JSON.stringify({ models: [twice, twice] }), file)).toThrow(
      /models\[1\] \(paddleocr-v4\)\.id: duplicate id paddleocr-v4/,
    );
    expect(() => parseModelsFile("{not json", file)).toThrow(/not valid JSON/);
  });

  it("refuses a models file whose ids serve no job type, and hf-inference without an endpoint", async () => {
    const file = join(dir, "odd.json");
    await writeFile(file, JSON.stringify({ models: [{ id: "my-own-model", backend: "human", vramMiB: 1 }] }));
    expect(problems({ ...base, GPU_WORKER_MODELS: file })).toEqual([
      expect.stringContaining("no model serves a job type"),
    ]);
    await writeFile(
      file,
      JSON.stringify({ models: [{ id: "vit-base-patch16-224", backend: "hf-inference", vramMiB: 0 }] }),
    );
    expect(problems({ ...base, GPU_WORKER_MODELS: file })).toEqual([expect.stringContaining("HF_INFERENCE_ENDPOINT")]);
    expect(loadConfig({ ...base, GPU_WORKER_MODELS: file, HF_INFERENCE_ENDPOINT: "http://127.0.0.1:1" }).types).toEqual(
      ["vision.classify"],
    );
  });
});
