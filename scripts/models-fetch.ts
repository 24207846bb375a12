// `npm run models:fetch`: downloads the model files no npm package ships, into GPU_WORKER_MODELS_DIR (.data/models),
// where the committed models file (gpu-worker/models.json) looks for them. Needs internet (Hugging Face); prints what
// it fetches first, and fails clearly without a network. Nothing else in Tessera downloads at install or run time.
//
//   npm run models:fetch                   whisper large-v3 (GPU hosts), the ViT classifier, the Piper voice, and the
//                                          local LLM provider's GGUFs (Qwen2.5-0.5B-Instruct Q4_K_M, bge-small-en-v1.5)
//   npm run models:fetch -- --cpu          whisper base.en instead (fast enough on a CPU), the classifier and voice
//   npm run models:fetch -- --dry-run      list the files and where they go; download nothing
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DEFAULT_MODELS_DIR } from "../gpu-worker/config";

const HF = process.env.HF_ENDPOINT ?? "https://huggingface.co";
const args = new Set(process.argv.slice(2));
const dir = resolve(process.env.GPU_WORKER_MODELS_DIR ?? DEFAULT_MODELS_DIR);

interface File {
  url: string;
  to: string;
  what: string;
}

const whisper = args.has("--cpu") ? "ggml-base.en.bin" : "ggml-large-v3.bin";
const FILES: File[] = [
  {
    what: `whisper.cpp model (${whisper}) for transcribe`,
    url: `${HF}/ggerganov/whisper.cpp/resolve/main/${whisper}`,
    to: join(dir, whisper),
  },
  ...["config.json", "preprocessor_config.json", "onnx/model.onnx"].map((f) => ({
    what: `ViT image classifier (${f}) for vision.classify`,
    url: `${HF}/Xenova/vit-base-patch16-224/resolve/main/${f}`,
    to: join(dir, "vit-base-patch16-224", f),
  })),
  // A Piper voice and its config: once both are there, speech runs on it instead of espeak-ng (docs/gpu-worker.md).
  ...["en_US-lessac-medium.onnx", "en_US-lessac-medium.onnx.json"].map((f) => ({
    what: `Piper voice (${f}) for speech`,
    url: `${HF}/rhasspy/piper-voices/resolve/main/en/en_US/lessac/medium/${f}`,
    to: join(dir, "piper", f),
  })),
  // The local LLM provider (docs/llm.md "The local provider"): gpu-worker/models.json's llm-chat-gguf and
  // llm-embed-gguf entries look for these under llm/.
  {
    what: "instruct GGUF (Qwen2.5-0.5B-Instruct, Q4_K_M, about 400 MiB) for llm.chat",
    url: `${HF}/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf`,
    to: join(dir, "llm", "qwen2.5-0.5b-instruct-q4_k_m.gguf"),
  },
  {
    what: "embedding GGUF (bge-small-en-v1.5, Q8_0, about 35 MiB) for llm.embed",
    url: `${HF}/CompendiumLabs/bge-small-en-v1.5-gguf/resolve/main/bge-small-en-v1.5-q8_0.gguf`,
    to: join(dir, "llm", "bge-small-en-v1.5-q8_0.gguf"),
  },
];

async function download(file: File): Promise<void> {
  if (existsSync(file.to)) {
    console.log(`  have     ${file.to} (${((await stat(file.to)).size / 2 ** 20).toFixed(1)} MiB)`);
    return;
  }
  await mkdir(dirname(file.to), { recursive: true });
  let res: Response;
  try {
    res = await fetch(file.url, { redirect: "follow" });
  } catch (err) {
    const reason = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw new Error(
      `cannot reach ${new URL(file.url).host} (${reason}). This machine has no internet: run models:fetch where there ` +
        `is, then copy ${dir} here (or point the models file's paths at the files).`,
    );
  }
  if (!res.ok || !res.body) throw new Error(`${file.url} → ${res.status} ${res.statusText}`);
  const part = `${file.to}.part`;
  const started = Date.now();
  await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream), createWriteStream(part));
  await rename(part, file.to);
  const mib = (await stat(file.to)).size / 2 ** 20;
  console.log(`  fetched  ${file.to} (${mib.toFixed(1)} MiB in ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

async function main(): Promise<void> {
  console.log(`Model files for the GPU worker, into ${dir}:`);
  for (const f of FILES) console.log(`  ${f.what}\n    ${f.url}\n    → ${f.to}`);
  if (args.has("--dry-run")) return;
  for (const f of FILES) {
    try {
      await download(f);
    } catch (err) {
      await rm(`${f.to}.part`, { force: true });
      throw err;
    }
  }
  console.log(
    "Done. OCR (PaddleOCR) and detection (human) need nothing: their packages ship them; speech falls back to espeak-ng.",
  );
}

main().catch((err: unknown) => {
  console.error(`models:fetch failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
