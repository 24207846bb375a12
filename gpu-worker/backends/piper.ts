// Neural text-to-speech with a Piper voice (a VITS ONNX model and its .onnx.json config) on onnxruntime-node. The
// phonemes come from espeak-ng (the WebAssembly build espeak.ts uses), as Piper's own phonemizer does.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { Tensor } from "onnxruntime-node";
import { z } from "zod";
import { provisioned } from "../config";
import { JobError } from "../errors";
import { deliverSpeech, phonemize, speechSpeed } from "./espeak";
import { withExecutionProvider } from "./onnx";
import { type Backend, type JobInput, numberOption, stringOption } from "./types";

/** The parts of a Piper voice config this backend reads. */
export const PiperConfig = z.object({
  audio: z.object({ sample_rate: z.number().int().positive() }),
  espeak: z.object({ voice: z.string().min(1) }),
  inference: z
    .object({ noise_scale: z.number(), length_scale: z.number().positive(), noise_w: z.number() })
    .partial()
    .default({}),
  num_speakers: z.number().int().positive().default(1),
  phoneme_id_map: z.record(z.string(), z.array(z.number().int().nonnegative())),
});
export type PiperConfig = z.output<typeof PiperConfig>;

const BOS = "^";
const EOS = "$";
const PAD = "_";

/**
 * Piper's id sequence: BOS, then each phoneme's ids followed by PAD, then EOS (clauses joined by a space). Phonemes
 * the voice's map lacks are skipped and returned, so the caller can report them.
 */
export function phonemeIds(
  clauses: string[],
  map: PiperConfig["phoneme_id_map"],
): { ids: number[]; skipped: string[] } {
  const need = (p: string) => {
    const ids = map[p];
    if (!ids) throw new JobError(`the Piper voice config has no "${p}" in its phoneme_id_map`, false);
    return ids;
  };
  const pad = need(PAD);
  const ids = [...need(BOS)];
  const skipped: string[] = [];
  for (const phoneme of Array.from(clauses.join(" "))) {
    const mapped = map[phoneme];
    if (!mapped) {
      skipped.push(phoneme);
      continue;
    }
    ids.push(...mapped, ...pad);
  }
  ids.push(...need(EOS));
  return { ids, skipped };
}

/** Scales the audio so its loudest sample is full scale, as Piper does (never amplifying near-silence past 100×). */
function normalise(samples: Float32Array): Float32Array {
  let peak = 0;
  for (const s of samples) peak = Math.max(peak, Math.abs(s));
  const gain = 1 / Math.max(0.01, peak);
  return samples.map((s) => s * gain);
}

async function readConfig(path: string): Promise<PiperConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(`${path}.json`, "utf8"));
  } catch (err) {
    throw new JobError(
      `unreadable Piper voice config ${path}.json: ${err instanceof Error ? err.message : err}`,
      false,
    );
  }
  const parsed = PiperConfig.safeParse(raw);
  if (!parsed.success) {
    throw new JobError(`invalid Piper voice config ${path}.json: ${parsed.error.issues[0]?.message}`, false);
  }
  return parsed.data;
}

export const piperBackend: Backend = {
  async load(entry, ctx) {
    const path = entry.path;
    if (!path || !provisioned(entry)) {
      throw new JobError(
        `Piper voice ${entry.id} is not provisioned: put ${path ?? "<voice>.onnx"} and its .onnx.json there ` +
          "(npm run models:fetch)",
        false,
      );
    }
    const config = await readConfig(path);
    const ort = await import("onnxruntime-node");
    const { value: session, provider } = await withExecutionProvider(ctx, `Piper (${entry.id})`, (providers) =>
      ort.InferenceSession.create(path, { executionProviders: providers }),
    );
    const voiceName = basename(path, ".onnx");
    const multiSpeaker = config.num_speakers > 1 && session.inputNames.includes("sid");
    ctx.log.info("Piper voice ready", { model: entry.id, provider, sampleRate: config.audio.sample_rate });
    return {
      async run(input: JobInput, run) {
        const clauses = await phonemize(input.text ?? "", config.espeak.voice);
        const { ids, skipped } = phonemeIds(clauses, config.phoneme_id_map);
        if (skipped.length) {
          run.log.warn("Piper: phonemes not in the voice's map were skipped", { skipped: [...new Set(skipped)] });
        }
        run.signal.throwIfAborted();
        const { noise_scale = 0.667, length_scale = 1, noise_w = 0.8 } = config.inference;
        const feeds: Record<string, Tensor> = {
          input: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
          input_lengths: new ort.Tensor("int64", BigInt64Array.from([BigInt(ids.length)]), [1]),
          scales: new ort.Tensor(
            "float32",
            Float32Array.from([noise_scale, length_scale / speechSpeed(input), noise_w]),
            [3],
          ),
        };
        let voice = voiceName;
        if (multiSpeaker) {
          const speaker = Math.min(
            config.num_speakers - 1,
            Math.max(0, Math.trunc(numberOption(input, "speaker") ?? 0)),
          );
          feeds.sid = new ort.Tensor("int64", BigInt64Array.from([BigInt(speaker)]), [1]);
          voice = `${voiceName}#${speaker}`;
        }
        const outputs = await session.run(feeds);
        const audio = outputs[session.outputNames[0] ?? ""];
        if (!audio || !(audio.data instanceof Float32Array))
          throw new JobError("the Piper model gave no float32 audio", false);
        run.progress(0.8);
        const samples = normalise(audio.data);
        return deliverSpeech(
          { sampleRate: config.audio.sample_rate, samples },
          { format: stringOption(input, "format"), voice, engine: "piper" },
          run,
        );
      },
      async unload() {
        await session.release();
      },
    };
  },
};
