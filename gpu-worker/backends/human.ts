// Detection with @vladmandic/human: CenterNet (80 COCO classes), BlazeFace and MoveNet, whose weights ship in the
// package, on TensorFlow.js's WebAssembly backend in Node. The package's subpath exports do not resolve the
// node-wasm build, so it is required by path; and tfjs in Node has no file:// model loader, so one is registered.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Config, Human, Tensor } from "@vladmandic/human";
import sharp from "sharp";
import type { DetectResult, ImageBox } from "../../src/lib/jobs/protocol";
import { invalidInput } from "../errors";
import { type Backend, numberOption, requireBytes } from "./types";

const require = createRequire(import.meta.url);
/** The package root (its `require` export is dist/human.node.js). */
export const HUMAN_DIR = dirname(dirname(require.resolve("@vladmandic/human")));
/** tfjs-backend-wasm's binaries sit beside its Node entry (dist/). */
const WASM_DIR = `${dirname(require.resolve("@tensorflow/tfjs-backend-wasm"))}/`;

type HumanModule = { Human: new (config: Partial<Config>) => Human };

interface ModelJson {
  modelTopology: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  signature?: unknown;
  userDefinedMetadata?: unknown;
  modelInitializer?: unknown;
  weightsManifest: { paths: string[]; weights: unknown[] }[];
}

let routerRegistered = false;

/** tfjs's IO router for file:// URLs: reads a graph model's JSON and its weight shards from disk. */
function registerFileLoader(tf: Human["tf"]): void {
  if (routerRegistered) return;
  routerRegistered = true;
  tf.io.registerLoadRouter((url: string | string[]) => {
    const first = Array.isArray(url) ? url[0] : url;
    if (typeof first !== "string" || !first.startsWith("file://")) return null;
    const path = first.slice("file://".length);
    return {
      async load() {
        const json = JSON.parse(await readFile(path, "utf8")) as ModelJson;
        const shards: Buffer[] = [];
        const weightSpecs: unknown[] = [];
        for (const group of json.weightsManifest) {
          for (const p of group.paths) shards.push(await readFile(join(dirname(path), p)));
          weightSpecs.push(...group.weights);
        }
        const all = Buffer.concat(shards);
        return {
          modelTopology: json.modelTopology,
          format: json.format,
          generatedBy: json.generatedBy,
          convertedBy: json.convertedBy,
          signature: json.signature,
          userDefinedMetadata: json.userDefinedMetadata,
          modelInitializer: json.modelInitializer,
          weightSpecs,
          weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        } as never; // tfjs's ModelArtifacts, built from the JSON the converter wrote
      },
    };
  });
}

function box(b: [number, number, number, number]): ImageBox {
  return { x: Math.round(b[0]), y: Math.round(b[1]), width: Math.round(b[2]), height: Math.round(b[3]) };
}

const clamp = (n: number) => Math.max(0, Math.min(1, n));

export async function createHuman(maxDetected = 20): Promise<Human> {
  const { Human: HumanClass } = require(join(HUMAN_DIR, "dist", "human.node-wasm.js")) as HumanModule;
  const human = new HumanClass({
    backend: "wasm",
    wasmPath: WASM_DIR,
    modelBasePath: `file://${join(HUMAN_DIR, "models")}/`,
    debug: false,
    async: true,
    cacheSensitivity: 0,
    face: {
      enabled: true,
      detector: { rotation: false, maxDetected, minConfidence: 0.3 },
      mesh: { enabled: false },
      iris: { enabled: false },
      description: { enabled: false },
      emotion: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
    },
    body: { enabled: true, maxDetected: 1 },
    hand: { enabled: false },
    object: { enabled: true, maxDetected, minConfidence: 0.2 },
    gesture: { enabled: false },
    segmentation: { enabled: false },
  });
  registerFileLoader(human.tf);
  await human.init();
  await human.load();
  return human;
}

async function toTensor(human: Human, bytes: Uint8Array): Promise<{ tensor: Tensor; width: number; height: number }> {
  try {
    const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const tensor = human.tf.tensor4d(new Int32Array(data), [1, info.height, info.width, 3], "int32") as Tensor;
    return { tensor, width: info.width, height: info.height };
  } catch (err) {
    throw invalidInput(`unreadable image: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export const humanBackend: Backend = {
  async load(entry, ctx) {
    if (ctx.device === "cuda") {
      ctx.log.warn("human runs on TensorFlow.js's WebAssembly backend (CPU) even on a CUDA worker", {
        model: entry.id,
      });
    }
    const human = await createHuman();
    return {
      async run(input, run) {
        const { tensor, width, height } = await toTensor(human, requireBytes(input));
        try {
          run.signal.throwIfAborted();
          const min = numberOption(input, "minScore") ?? 0;
          const res = await human.detect(tensor);
          const result: DetectResult = {
            objects: res.object
              .filter((o) => o.score >= min)
              .map((o) => ({ label: o.label, score: clamp(o.score), box: box(o.box) })),
            faces: res.face
              .filter((f) => f.score >= min)
              .map((f) => ({ label: "face", score: clamp(f.boxScore ?? f.score), box: box(f.box) })),
            bodies: res.body
              .filter((b) => b.score >= min)
              .map((b) => ({ label: "person", score: clamp(b.score), box: box(b.box) })),
            width,
            height,
          };
          return { result };
        } finally {
          human.tf.dispose(tensor);
        }
      },
      async unload() {
        for (const model of Object.values(human.models.models ?? {})) {
          (model as { dispose?: () => void } | null)?.dispose?.();
        }
      },
    };
  },
};
