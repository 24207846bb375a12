// Writes a tiny transformers.js image classifier (config.json, preprocessor_config.json, onnx/model.onnx) whose
// answer is known: the ONNX graph averages each colour channel (ReduceMean) and multiplies by a 3×2 matrix, so a red
// image scores "red" and a blue one "blue". No classifier ships in a package; this runs the real pipeline and
// onnxruntime on a real (if small) model. The ONNX protobuf is encoded here by hand (a few message types suffice).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

// ---- protobuf wire format ----
export type Field = [number, "varint", number] | [number, "bytes", Uint8Array | string] | [number, "msg", Uint8Array];

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

export function message(fields: Field[]): Uint8Array {
  const out: number[] = [];
  for (const [num, kind, value] of fields) {
    if (kind === "varint") out.push(...varint((num << 3) | 0), ...varint(value));
    else {
      const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
      out.push(...varint((num << 3) | 2), ...varint(bytes.length), ...bytes);
    }
  }
  return Uint8Array.from(out);
}

// ---- ONNX messages (onnx.proto field numbers) ----
export const FLOAT = 1;
export const INT64 = 7;
const dim = (d: number | string) => message([typeof d === "number" ? [1, "varint", d] : [2, "bytes", d]]);
export const valueInfo = (name: string, dims: (number | string)[], elemType = FLOAT) =>
  message([
    [1, "bytes", name],
    [
      2,
      "msg",
      message([
        [
          1,
          "msg",
          message([
            [1, "varint", elemType],
            [2, "msg", message(dims.map((d) => [1, "msg", dim(d)] as Field))],
          ]),
        ],
      ]),
    ],
  ]);
export const tensor = (name: string, dims: number[], values: number[], elemType = FLOAT) =>
  message([
    ...dims.map((d) => [1, "varint", d] as Field),
    [2, "varint", elemType],
    [8, "bytes", name],
    [
      9,
      "bytes",
      new Uint8Array(elemType === INT64 ? BigInt64Array.from(values, BigInt).buffer : Float32Array.from(values).buffer),
    ],
  ]);
const attrInts = (name: string, ints: number[]) =>
  message([[1, "bytes", name], [20, "varint", 7], ...ints.map((i) => [8, "varint", i] as Field)]);
export const attrInt = (name: string, i: number) =>
  message([
    [1, "bytes", name],
    [20, "varint", 2],
    [3, "varint", i],
  ]);
export const node = (op: string, inputs: string[], outputs: string[], attrs: Uint8Array[] = []) =>
  message([
    ...inputs.map((i) => [1, "bytes", i] as Field),
    ...outputs.map((o) => [2, "bytes", o] as Field),
    [3, "bytes", `${op}_${outputs[0]}`],
    [4, "bytes", op],
    ...attrs.map((a) => [5, "msg", a] as Field),
  ]);

export const TINY_CLASSIFIER_LABELS = ["red", "blue"];

export function tinyClassifierOnnx(): Uint8Array {
  // Channel means of the normalised image (−1..1): red ≈ [1, −1, −1], blue ≈ [−1, −1, 1].
  const weights = [1, -1, 0, 0, -1, 1]; // 3×2, row-major: logits = means · W
  const graph = message([
    [1, "msg", node("ReduceMean", ["pixel_values"], ["means"], [attrInts("axes", [2, 3]), attrInt("keepdims", 0)])],
    [1, "msg", node("MatMul", ["means", "W"], ["logits"])],
    [2, "bytes", "tiny-colour-classifier"],
    [5, "msg", tensor("W", [3, 2], weights)],
    [11, "msg", valueInfo("pixel_values", ["batch_size", 3, "height", "width"])],
    [12, "msg", valueInfo("logits", ["batch_size", 2])],
  ]);
  return onnxModel(graph);
}

/** An ONNX model (IR 8, opset 13) around a graph's fields. */
export function onnxModel(graph: Uint8Array): Uint8Array {
  return message([
    [1, "varint", 8],
    [2, "bytes", "tessera-tests"],
    [7, "msg", graph],
    [8, "msg", message([[2, "varint", 13]])],
  ]);
}

/** Writes the model directory and returns its path (`<dir>/<name>`). */
export async function writeTinyClassifier(dir: string, name = "tiny-colour-classifier"): Promise<string> {
  const root = join(dir, name);
  await mkdir(join(root, "onnx"), { recursive: true });
  const id2label = Object.fromEntries(TINY_CLASSIFIER_LABELS.map((l, i) => [String(i), l]));
  const label2id = Object.fromEntries(TINY_CLASSIFIER_LABELS.map((l, i) => [l, i]));
  await writeFile(
    join(root, "config.json"),
    JSON.stringify({ model_type: "vit", architectures: ["ViTForImageClassification"], id2label, label2id }),
  );
  await writeFile(
    join(root, "preprocessor_config.json"),
    JSON.stringify({
      image_processor_type: "ViTImageProcessor",
      do_resize: true,
      size: { height: 32, width: 32 },
      resample: 2,
      do_rescale: true,
      rescale_factor: 1 / 255,
      do_normalize: true,
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
    }),
  );
  await writeFile(join(root, "onnx", "model.onnx"), tinyClassifierOnnx());
  return root;
}
