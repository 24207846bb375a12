// The remote fallback: a job type with no local model runs on a Hugging Face Inference endpoint (or any server that
// speaks its protocol), configured by HF_INFERENCE_ENDPOINT / options.endpointUrl and options.model.
import { InferenceClient } from "@huggingface/inference";
import type { ClassifyResult, DetectResult, SpeechResult, TranscriptResult } from "../../src/lib/jobs/protocol";
import { decodeWav, durationSeconds } from "../audio/wav";
import { JobError } from "../errors";
import { imageSize } from "./ocr";
import { type Backend, type JobOutput, requireBytes } from "./types";

export const hfInferenceBackend: Backend = {
  async load(entry, ctx) {
    const endpointUrl = typeof entry.options.endpointUrl === "string" ? entry.options.endpointUrl : ctx.hfEndpoint;
    const model = typeof entry.options.model === "string" ? entry.options.model : undefined;
    if (!endpointUrl) throw new JobError(`${entry.id}: hf-inference needs an endpoint URL`, false);
    const client = new InferenceClient(ctx.hfToken, { endpointUrl });
    const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        // A remote endpoint's failure may be temporary (cold start, overload): let the board retry.
        throw new JobError(
          `${what} on ${endpointUrl} failed: ${err instanceof Error ? err.message : String(err)}`,
          true,
        );
      }
    };
    return {
      async run(input, run): Promise<JobOutput> {
        const signal = run.signal;
        switch (input.type) {
          case "vision.classify": {
            const bytes = requireBytes(input);
            const out = await call("image classification", () =>
              client.imageClassification({ model, data: new Blob([bytes]) }, { signal }),
            );
            const result: ClassifyResult = { labels: out.map((o) => ({ label: o.label, score: o.score })) };
            return { result };
          }
          case "vision.detect": {
            const bytes = requireBytes(input);
            const { width, height } = await imageSize(bytes);
            const out = await call("object detection", () =>
              client.objectDetection({ model, data: new Blob([bytes]) }, { signal }),
            );
            const result: DetectResult = {
              objects: out.map((o) => ({
                label: o.label,
                score: o.score,
                box: { x: o.box.xmin, y: o.box.ymin, width: o.box.xmax - o.box.xmin, height: o.box.ymax - o.box.ymin },
              })),
              faces: [],
              bodies: [],
              width,
              height,
            };
            return { result };
          }
          case "transcribe": {
            const bytes = requireBytes(input);
            const out = await call("speech recognition", () =>
              client.automaticSpeechRecognition({ model, data: new Blob([bytes]) }, { signal }),
            );
            const result: TranscriptResult = { text: out.text.trim(), segments: [] };
            return { result };
          }
          case "speech": {
            const blob = await call("text to speech", () =>
              client.textToSpeech({ model, inputs: input.text ?? "" }, { signal }),
            );
            const bytes = new Uint8Array(await blob.arrayBuffer());
            const contentType = blob.type || "application/octet-stream";
            const wav = contentType.includes("wav") ? decodeWav(bytes) : undefined;
            const result: SpeechResult = {
              artifact: "speech",
              contentType,
              format: wav ? "wav" : contentType,
              requestedFormat: typeof input.options.format === "string" ? input.options.format : "wav",
              sampleRate: wav?.sampleRate ?? 1,
              duration: wav ? durationSeconds(wav) : 0,
              voice: "remote",
              engine: `hf-inference:${model ?? "default"}`,
            };
            return { result, artifacts: [{ name: "speech", contentType, bytes }] };
          }
          default:
            throw new JobError(`the hf-inference backend does not run ${input.type}`, false);
        }
      },
      async unload() {},
    };
  },
};
