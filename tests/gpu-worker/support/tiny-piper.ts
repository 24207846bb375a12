// Writes a tiny Piper-shaped voice (<name>.onnx + <name>.onnx.json) whose output is known: the ONNX graph takes
// Piper's inputs (input int64 [1,N], input_lengths int64 [1], scales float32 [3]) and repeats each phoneme id
// TINY_PIPER_SAMPLES_PER_ID times as float audio, so the WAV's length is N × that and proves the ids that went in.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { attrInt, type Field, FLOAT, INT64, message, node, onnxModel, tensor, valueInfo } from "./tiny-classifier";

export const TINY_PIPER_SAMPLES_PER_ID = 100;
export const TINY_PIPER_SAMPLE_RATE = 16_000;

export function tinyPiperOnnx(): Uint8Array {
  const nodes = [
    node("Cast", ["input"], ["ids"], [attrInt("to", FLOAT)]),
    node("Mul", ["ids", "gain"], ["scaled"]),
    node("Reshape", ["scaled", "column"], ["columns"]),
    node("Expand", ["columns", "repeat"], ["repeated"]),
    node("Reshape", ["repeated", "flat"], ["output"]),
  ];
  const graph = message([
    ...nodes.map((n): Field => [1, "msg", n]),
    [2, "bytes", "tiny-piper"],
    [5, "msg", tensor("gain", [1], [0.01])],
    [5, "msg", tensor("column", [3], [1, -1, 1], INT64)],
    [5, "msg", tensor("repeat", [3], [1, 1, TINY_PIPER_SAMPLES_PER_ID], INT64)],
    [5, "msg", tensor("flat", [3], [1, 1, -1], INT64)],
    [11, "msg", valueInfo("input", [1, "phonemes"], INT64)],
    [11, "msg", valueInfo("input_lengths", [1], INT64)],
    [11, "msg", valueInfo("scales", [3])],
    [12, "msg", valueInfo("output", [1, 1, "samples"])],
  ]);
  return onnxModel(graph);
}

/**
 * Writes `<dir>/<name>.onnx` and its config, mapping each of `phonemes` (single code points) to its own id
 * (PAD 0, BOS 1, EOS 2, then 3, 4 … in order). Returns the .onnx path.
 */
export async function writeTinyPiperVoice(dir: string, name: string, phonemes: string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  const map: Record<string, number[]> = { _: [0], "^": [1], $: [2] };
  phonemes.forEach((p, i) => {
    map[p] = [i + 3];
  });
  const path = join(dir, `${name}.onnx`);
  await writeFile(path, tinyPiperOnnx());
  await writeFile(
    `${path}.json`,
    JSON.stringify({
      audio: { sample_rate: TINY_PIPER_SAMPLE_RATE },
      espeak: { voice: "en-us" },
      inference: { noise_scale: 0.667, length_scale: 1, noise_w: 0.8 },
      num_speakers: 1,
      phoneme_id_map: map,
    }),
  );
  return path;
}
