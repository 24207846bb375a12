// WAV in and out without an external tool: RIFF PCM (8/16/24/32-bit integer, 32/64-bit float), any rate and channel
// count, mixed to mono and resampled for Whisper (16 kHz); 16-bit mono WAV/PCM out is src/lib/audio/wav.ts, shared
// with the edge.
import type { PcmAudio } from "../../src/lib/audio/wav";
import { invalidInput } from "../errors";

export { encodeWav, type PcmAudio, toPcm16 } from "../../src/lib/audio/wav";

/** Decodes a WAV file to mono float samples. Throws a non-retryable JobError for anything else. */
export function decodeWav(bytes: Uint8Array): PcmAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.byteLength < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") throw invalidInput("not a RIFF/WAVE file");
  let format: { code: number; channels: number; rate: number; bits: number } | undefined;
  let data: Uint8Array | undefined;
  for (let at = 12; at + 8 <= bytes.byteLength; ) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === "fmt ") {
      let code = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the sub-format GUID's first two bytes.
      if (code === 0xfffe && size >= 26) code = view.getUint16(body + 24, true);
      format = {
        code,
        channels: view.getUint16(body + 2, true),
        rate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === "data") {
      data = bytes.subarray(body, Math.min(body + size, bytes.byteLength));
    }
    at = body + size + (size % 2);
  }
  if (!format || !data) throw invalidInput("WAV file has no fmt or data chunk");
  const { code, channels, rate, bits } = format;
  if (channels < 1 || rate < 1000) throw invalidInput(`unsupported WAV: ${channels} channels at ${rate} Hz`);
  const width = bits / 8;
  const frames = Math.floor(data.byteLength / (width * channels));
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const read = sampleReader(code, bits, dv);
  const samples = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += read((f * channels + c) * width);
    samples[f] = sum / channels;
  }
  return { sampleRate: rate, samples };
}

function sampleReader(code: number, bits: number, dv: DataView): (at: number) => number {
  if (code === 1 && bits === 16) return (at) => dv.getInt16(at, true) / 32768;
  if (code === 1 && bits === 8) return (at) => (dv.getUint8(at) - 128) / 128;
  if (code === 1 && bits === 24) {
    return (at) => {
      const v = dv.getUint8(at) | (dv.getUint8(at + 1) << 8) | (dv.getInt8(at + 2) << 16);
      return v / 8388608;
    };
  }
  if (code === 1 && bits === 32) return (at) => dv.getInt32(at, true) / 2147483648;
  if (code === 3 && bits === 32) return (at) => dv.getFloat32(at, true);
  if (code === 3 && bits === 64) return (at) => dv.getFloat64(at, true);
  throw invalidInput(`unsupported WAV encoding (format ${code}, ${bits} bits)`);
}

/** Linear-interpolation resampling: enough for speech going into Whisper's 16 kHz front end. */
export function resample(audio: PcmAudio, rate: number): PcmAudio {
  if (audio.sampleRate === rate) return audio;
  const ratio = audio.sampleRate / rate;
  const out = new Float32Array(Math.floor(audio.samples.length / ratio));
  for (let i = 0; i < out.length; i++) {
    const pos = i * ratio;
    const j = Math.floor(pos);
    const a = audio.samples[j] ?? 0;
    const b = audio.samples[j + 1] ?? a;
    out[i] = a + (b - a) * (pos - j);
  }
  return { sampleRate: rate, samples: out };
}

export function durationSeconds(audio: PcmAudio): number {
  return audio.samples.length / audio.sampleRate;
}

/** Root-mean-square level in dBFS (−Infinity for silence). */
export function rmsDbfs(samples: Float32Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return 10 * Math.log10(sum / Math.max(1, samples.length));
}
