// Image classification with @huggingface/transformers on onnxruntime-node, from a local model directory (config.json,
// preprocessor_config.json, onnx/model.onnx). Remote models are off: nothing is downloaded at run time.
import { existsSync } from "node:fs";
import { basename, dirname } from "node:path";
import { env, type ImageClassificationPipeline, pipeline, RawImage } from "@huggingface/transformers";
import sharp from "sharp";
import type { ClassifyResult } from "../../src/lib/jobs/protocol";
import { invalidInput, ModelNotProvisioned } from "../errors";
import { withExecutionProvider } from "./onnx";
import { type Backend, numberOption, requireBytes } from "./types";

export async function imageToRaw(bytes: Uint8Array): Promise<RawImage> {
  try {
    const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return new RawImage(new Uint8Array(data), info.width, info.height, 3);
  } catch (err) {
    throw invalidInput(`unreadable image: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export const transformersBackend: Backend = {
  async load(entry, ctx) {
    const dir = entry.path;
    if (!dir || !existsSync(dir)) {
      throw new ModelNotProvisioned(
        `classification needs a transformers.js model directory for ${entry.id} at ${dir ?? "(no path set)"}` +
          " (config.json, preprocessor_config.json, onnx/model.onnx); run `npm run models:fetch` or set the path",
      );
    }
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = `${dirname(dir)}/`;
    const task = typeof entry.options.task === "string" ? entry.options.task : "image-classification";
    if (task !== "image-classification") throw new Error(`unsupported transformers task ${task}`);
    const { value: classify } = await withExecutionProvider(ctx, `classifier (${entry.id})`, async (providers) => {
      const device = providers[0] === "cuda" ? "cuda" : "cpu";
      return (await pipeline("image-classification", basename(dir), {
        device,
        dtype: "fp32",
      })) as ImageClassificationPipeline;
    });
    const defaultTopK = typeof entry.options.topK === "number" ? entry.options.topK : 5;
    return {
      async run(input, run) {
        const image = await imageToRaw(requireBytes(input));
        run.signal.throwIfAborted();
        const topK = Math.max(1, Math.min(50, numberOption(input, "topK") ?? defaultTopK));
        const out = await classify(image, { top_k: topK });
        const rows = (Array.isArray(out) ? out.flat() : [out]) as { label: string; score: number }[];
        const result: ClassifyResult = {
          labels: rows.map((r) => ({ label: r.label, score: Math.max(0, Math.min(1, r.score)) })),
        };
        return { result };
      },
      unload: () => classify.dispose(),
    };
  },
};
