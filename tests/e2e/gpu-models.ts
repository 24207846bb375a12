// The models file the end-to-end GPU workers run with: the committed one, with whisper.cpp pointed at a tiny model
// the tests write (no Whisper weights can be fetched here; it decodes any audio to TINY_WHISPER_TEXT), and both
// llama.cpp entries (the local LLM provider's chat and embedding models) at a tiny llama GGUF the tests write.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_MODELS_FILE, type ModelEntry } from "../../gpu-worker/config";
import { writeTinyGguf } from "../gpu-worker/support/tiny-gguf";
import { writeTinyWhisperModel } from "../gpu-worker/support/tiny-whisper";

export async function writeE2eModelsFile(dir: string): Promise<string> {
  const whisper = await writeTinyWhisperModel(join(dir, "ggml-tiny-test.bin"));
  const gguf = await writeTinyGguf(join(dir, "tiny-llama.gguf"));
  const file = JSON.parse(await readFile(DEFAULT_MODELS_FILE, "utf8")) as { models: ModelEntry[] };
  for (const model of file.models) {
    if (model.backend === "whisper.cpp") {
      model.path = whisper;
      model.options = {};
    }
    if (model.backend === "llama.cpp") {
      model.path = gguf;
      model.options = { ...model.options, contextSize: 512, ...(model.options.embedding ? { pooling: "mean" } : {}) };
    }
  }
  const path = join(dir, "gpu-models.json");
  await writeFile(path, JSON.stringify(file, null, 2));
  return path;
}
