// The models file the end-to-end GPU workers run with: the committed one, with whisper.cpp pointed at a tiny model
// the tests write (no Whisper weights can be fetched here; it decodes any audio to TINY_WHISPER_TEXT).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_MODELS_FILE, type ModelEntry } from "../../gpu-worker/config";
import { writeTinyWhisperModel } from "../gpu-worker/support/tiny-whisper";

export async function writeE2eModelsFile(dir: string): Promise<string> {
  const whisper = await writeTinyWhisperModel(join(dir, "ggml-tiny-test.bin"));
  const file = JSON.parse(await readFile(DEFAULT_MODELS_FILE, "utf8")) as { models: ModelEntry[] };
  for (const model of file.models) {
    if (model.backend === "whisper.cpp") {
      model.path = whisper;
      model.options = {};
    }
  }
  const path = join(dir, "gpu-models.json");
  await writeFile(path, JSON.stringify(file, null, 2));
  return path;
}
