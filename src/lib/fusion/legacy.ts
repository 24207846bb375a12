// The old multimodal-fusion library's shapes over the new fusion (docs/legacy.md, "Fusion"). The library took
// `ModalityInput{id, modality, content, metadata, timestamp}` items and answered a `FusionResult` whose embeddings
// were made up and whose "reasoning" was fixed sentences. Here the same shapes carry real findings: nothing in the
// answer is invented, and what the new fusion has no counterpart for (embeddings, attention weights) stays empty.
import { z } from "zod";
import { encodeWav } from "../audio/wav";
import { toBase64 } from "../platform/base64";
import { ApiError } from "../platform/errors";
import {
  type Connection,
  FUSION_LIMITS,
  type FusionInput,
  type FusionRequest,
  type FusionResult,
  type Modality,
} from "./model";

/** The old `Modality` names. */
const LEGACY_MODALITIES = ["text", "speech", "audio", "vision", "code", "video", "sensor"] as const;
type LegacyModality = (typeof LEGACY_MODALITIES)[number];

export const LEGACY_FUSION_LIMITS = {
  /** Samples in one `AudioData` (10 minutes at 16 kHz). */
  maxSamples: 16_000 * 600,
  /** Bytes in one `ImageData.data` or raw byte array. */
  maxBytes: 4 * 1024 * 1024,
  /** The request body: bytes travel as JSON number arrays, about four characters a byte. */
  maxBodyBytes: 24 * 1024 * 1024,
} as const;

const AudioData = z
  .object({
    samples: z.array(z.number().finite()).min(1).max(LEGACY_FUSION_LIMITS.maxSamples),
    sample_rate: z.number().int().min(1_000).max(192_000),
    channels: z.number().int().min(1).max(8),
    duration_ms: z.number().int().nonnegative().optional(),
  })
  .strict();

const ImageData = z
  .object({
    width: z.number().int().nonnegative(),
    height: z.number().int().nonnegative(),
    channels: z.number().int().nonnegative(),
    data: z.array(z.number().int().min(0).max(255)).min(1).max(LEGACY_FUSION_LIMITS.maxBytes),
    format: z.enum(["rgb", "rgba", "grayscale", "jpeg", "png"]),
  })
  .strict();

const VideoData = z.object({ frames: z.array(z.unknown()), fps: z.number() });

/** The library's untagged `ModalityContent`: serde tried Text, Audio, Image, Video, then a number array. */
const ModalityContent = z.union([
  z.string().min(1).max(FUSION_LIMITS.maxTextChars),
  AudioData,
  ImageData,
  VideoData,
  z.array(z.number()).min(1).max(LEGACY_FUSION_LIMITS.maxBytes),
]);

export const LegacyModalityInput = z.object({
  id: z.string().max(64).optional(),
  modality: z.enum(LEGACY_MODALITIES),
  content: ModalityContent,
  metadata: z.record(z.string(), z.unknown()).optional(),
  timestamp: z.string().max(64).optional(),
});
export type LegacyModalityInput = z.infer<typeof LegacyModalityInput>;

/** The library was called with a list; over HTTP it is `{inputs}` or the bare list. */
export const LegacyFusionRequest = z.union([
  z.array(LegacyModalityInput).min(1).max(FUSION_LIMITS.maxInputs),
  z.object({
    inputs: z.array(LegacyModalityInput).min(1).max(FUSION_LIMITS.maxInputs),
    question: z.string().max(2_000).optional(),
    model: z.string().min(1).max(128).optional(),
  }),
]);
export type LegacyFusionRequest = z.infer<typeof LegacyFusionRequest>;

const unsupported = (n: number, message: string) =>
  new ApiError("invalid_request", `Input ${n}: ${message}`, {
    issues: [{ path: ["body", "inputs", n, "content"], code: "invalid_input", message }],
  });

const bytesOf = (n: number, values: number[]): Uint8Array => {
  if (!values.every((v) => Number.isInteger(v) && v >= 0 && v <= 255))
    throw unsupported(n, "a number array is read as bytes (0-255); the old Embedding content is not fused");
  return Uint8Array.from(values);
};

/** Interleaved samples of any channel count, mixed to mono, as a 16-bit WAV file. */
function audioDataWav(audio: z.infer<typeof AudioData>): Uint8Array {
  const frames = Math.floor(audio.samples.length / audio.channels);
  const mono = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < audio.channels; c++) sum += audio.samples[f * audio.channels + c] ?? 0;
    mono[f] = sum / audio.channels;
  }
  return encodeWav({ sampleRate: audio.sample_rate, samples: mono });
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** One old input as a new one; what the new fusion cannot read is a 400 that says so. */
function toFusionInput(item: LegacyModalityInput, n: number): FusionInput {
  const name = (typeof item.metadata?.name === "string" ? item.metadata.name : item.id)?.slice(0, 128);
  const named = name ? { name } : {};
  const { content } = item;
  switch (item.modality) {
    case "video":
    case "sensor":
      throw unsupported(n, `the ${item.modality} modality is not fused; send frames as vision inputs`);
    case "text":
    case "code": {
      if (typeof content === "string") return { type: "text", text: content, ...named };
      if (Array.isArray(content)) {
        try {
          return { type: "text", text: decoder.decode(bytesOf(n, content)), ...named };
        } catch (err) {
          if (err instanceof ApiError) throw err;
          throw unsupported(n, "text bytes are not UTF-8");
        }
      }
      throw unsupported(n, `${item.modality} content is a string`);
    }
    case "speech":
    case "audio": {
      if (Array.isArray(content)) {
        const bytes = bytesOf(n, content);
        return { type: "audio", base64: toBase64(bytes), mediaType: "application/octet-stream", ...named };
      }
      if (typeof content === "object" && "samples" in content) {
        return { type: "audio", base64: toBase64(audioDataWav(content)), mediaType: "audio/wav", ...named };
      }
      throw unsupported(n, "audio content is AudioData {samples, sample_rate, channels} or the file's bytes");
    }
    case "vision": {
      if (Array.isArray(content)) {
        return {
          type: "image",
          base64: toBase64(bytesOf(n, content)),
          mediaType: "application/octet-stream",
          ...named,
        };
      }
      if (typeof content === "object" && "format" in content) {
        if (content.format !== "png" && content.format !== "jpeg")
          throw unsupported(n, `raw ${content.format} pixels are not read; send the image as png or jpeg`);
        const mediaType = content.format === "png" ? "image/png" : "image/jpeg";
        return { type: "image", base64: toBase64(Uint8Array.from(content.data)), mediaType, ...named };
      }
      throw unsupported(n, "vision content is ImageData {data, format: png|jpeg} or the image's bytes");
    }
  }
}

export function toFusionRequest(body: LegacyFusionRequest): FusionRequest {
  const items = Array.isArray(body) ? body : body.inputs;
  const extra = Array.isArray(body) ? {} : { question: body.question, model: body.model };
  return {
    inputs: items.map(toFusionInput),
    ...(extra.question ? { question: extra.question } : {}),
    ...(extra.model ? { model: extra.model } : {}),
  };
}

/** The old library named fusions by UUID; ours are `fus_` and the same 32 hex digits. */
export const legacyFusionId = (id: string) => id.replace(/^fus_(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");
export const fusionIdFromLegacy = (uuid: string) => `fus_${uuid.replaceAll("-", "").toLowerCase()}`;

/** How the new modalities read in the old enum: a document is text, an image vision, audio is audio. */
const LEGACY_NAME: Record<Modality, LegacyModality> = {
  text: "text",
  document: "text",
  image: "vision",
  audio: "audio",
};

/** The old `ConnectionType` for each connection kind. */
const CONNECTION_TYPE = {
  same_entity: "semantic",
  temporal: "temporal",
  supports: "complementary",
  contradicts: "contradictory",
} as const satisfies Record<Connection["kind"], string>;

export const LegacyFusionResult = z.object({
  id: z.uuid(),
  unified_representation: z.object({
    embeddings: z.array(z.number()).describe("Always empty: no embedding is invented"),
    attention_weights: z.array(z.array(z.number())).describe("Always empty"),
    modality_contributions: z.record(z.string(), z.number()),
    semantic_features: z.record(z.string(), z.array(z.number())).describe("Always empty"),
  }),
  cross_modal_connections: z.array(
    z.object({
      source_modality: z.string(),
      target_modality: z.string(),
      connection_type: z.enum(["semantic", "temporal", "complementary", "contradictory"]),
      strength: z.number(),
      features: z.array(z.string()),
    }),
  ),
  emergent_patterns: z.array(
    z.object({
      id: z.string(),
      pattern_type: z.literal("correlation"),
      modalities: z.array(z.string()),
      confidence: z.number(),
      description: z.string(),
    }),
  ),
  confidence: z.number(),
  reasoning: z.array(z.string()),
  processing_time_ms: z.number().int(),
});
export type LegacyFusionResult = z.infer<typeof LegacyFusionResult>;

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * A finished fusion in the old shape. `modality_contributions` is each modality's share of the evidence (findings
 * weighted by confidence); a connection's strength is the weaker of its two inputs' confidence; every entity seen in
 * two modalities is a `correlation` pattern; `reasoning` is the summary, then each connection's evidence, then each
 * failed input's error.
 */
export function toLegacyResult(result: FusionResult): LegacyFusionResult {
  const byInput = new Map(result.modalities.map((m) => [m.input, m]));
  const modalityOf = (input: number) => {
    const m = byInput.get(input);
    return m ? LEGACY_NAME[m.type] : "text";
  };
  const weight = new Map<string, number>();
  for (const m of result.modalities) {
    const w = m.findings.reduce((sum, f) => sum + f.confidence, 0);
    weight.set(LEGACY_NAME[m.type], (weight.get(LEGACY_NAME[m.type]) ?? 0) + w);
  }
  const total = [...weight.values()].reduce((a, b) => a + b, 0);
  const contributions = Object.fromEntries([...weight].map(([name, w]) => [name, total > 0 ? round(w / total) : 0]));
  const connections = result.connections.map((c) => ({
    source_modality: modalityOf(c.from),
    target_modality: modalityOf(c.to),
    connection_type: CONNECTION_TYPE[c.kind],
    strength: round(Math.min(byInput.get(c.from)?.confidence ?? 0, byInput.get(c.to)?.confidence ?? 0)),
    features: [c.evidence],
  }));
  const patterns = result.entities.flatMap((entity) => {
    const modalities = [...new Set(entity.inputs.map(modalityOf))];
    if (modalities.length < 2) return [];
    const confidence = Math.min(...entity.inputs.map((i) => byInput.get(i)?.confidence ?? 0));
    return [
      {
        id: `entity:${entity.name}`,
        pattern_type: "correlation" as const,
        modalities,
        confidence: round(confidence),
        description: `"${entity.name}" appears in ${modalities.join(" and ")}`,
      },
    ];
  });
  const failures = result.modalities
    .filter((m) => m.status === "failed")
    .map((m) => `input ${m.input} (${m.type}) failed: ${m.error ?? "no findings"}`);
  return {
    id: legacyFusionId(result.id),
    unified_representation: {
      embeddings: [],
      attention_weights: [],
      modality_contributions: contributions,
      semantic_features: {},
    },
    cross_modal_connections: connections,
    emergent_patterns: patterns,
    confidence: round(result.confidence),
    reasoning: [...(result.summary ? [result.summary] : []), ...connections.flatMap((c) => c.features), ...failures],
    processing_time_ms: Math.round(result.timings.totalMs),
  };
}
