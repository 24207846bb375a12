// /v1/fusion at the edge: text and an Office document become findings without a GPU job; the FusionRun object
// gathers them on its alarm and answers within Prefer: wait; without a chat model the result keeps every finding
// and the rule connections and says synthesis was skipped. Images become GPU jobs. Bad input is refused.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { LegacyFusionResult } from "../../src/lib/fusion/legacy";
import type { FusionResult } from "../../src/lib/fusion/model";
import { toBase64 } from "../../src/lib/platform/base64";
import { docx } from "../support/documents";
import { api, json, registerUser, type Tokens } from "./support";

const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
let user: Tokens;
beforeAll(async () => {
  user = await registerUser();
});

const fuse = (body: unknown, headers: Record<string, string> = {}) =>
  api("POST", "/v1/fusion", { token: user.accessToken, body, headers });

describe("fusion without GPU jobs", () => {
  it("connects a word typed in text and written in a DOCX table; synthesis skipped without a model", async () => {
    const res = await fuse(
      {
        inputs: [
          { type: "text", text: "The lighthouse at Marrowby was repainted.", name: "note" },
          {
            type: "document",
            base64: toBase64(docx([{ table: [["Site", "Marrowby"]] }])),
            mediaType: DOCX,
            name: "sites.docx",
          },
        ],
      },
      { Prefer: "wait=20" },
    );
    expect(res.status).toBe(200);
    const result = await json<FusionResult>(res);
    expect(result).toMatchObject({ status: "completed", summary: null, synthesis: { status: "skipped" } });
    expect(result.modalities.map((m) => [m.input, m.type, m.source, m.status])).toEqual([
      [0, "text", "note", "ok"],
      [1, "document", "sites.docx", "ok"],
    ]);
    expect(result.entities).toContainEqual({ name: "Marrowby", inputs: [0, 1] });
    expect(result.connections).toContainEqual(
      expect.objectContaining({ from: 0, to: 1, kind: "same_entity", by: "rule" }),
    );
    // The same fusion by id, and only for its owner.
    const again = await api("GET", `/v1/fusion/${result.id}`, { token: user.accessToken });
    expect((await json<FusionResult>(again)).connections).toEqual(result.connections);
    const other = await registerUser();
    expect((await api("GET", `/v1/fusion/${result.id}`, { token: other.accessToken })).status).toBe(404);
  });

  it("an image becomes GPU jobs: 202 with the fusion while they wait", async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
    const res = await fuse({
      inputs: [{ type: "image", base64: toBase64(png), mediaType: "image/png", analyses: ["ocr"] }],
    });
    expect(res.status).toBe(202);
    const result = await json<FusionResult>(res);
    expect(result.status).toBe("running");
    expect(res.headers.get("Location")).toBe(`/v1/fusion/${result.id}`);
    const job = await api("GET", `/v1/jobs/${result.id}_0_vision_ocr`, { token: user.accessToken });
    expect(job.status).toBe(200);
  });
});

describe("refusals", () => {
  it("400 for no inputs, too many, an unknown type or bad base64; 415 for a wrong media type; 401 without a token", async () => {
    expect((await fuse({ inputs: [] })).status).toBe(400);
    expect((await fuse({ inputs: Array.from({ length: 9 }, () => ({ type: "text", text: "x" })) })).status).toBe(400);
    expect((await fuse({ inputs: [{ type: "video", base64: "AA==", mediaType: "video/mp4" }] })).status).toBe(400);
    expect((await fuse({ inputs: [{ type: "image", base64: "@@", mediaType: "image/png" }] })).status).toBe(400);
    const wrong = await fuse({
      inputs: [{ type: "image", base64: toBase64(new TextEncoder().encode("hello")), mediaType: "text/plain" }],
    });
    expect(wrong.status).toBe(415);
    expect((await api("POST", "/v1/fusion", { body: { inputs: [{ type: "text", text: "x" }] } })).status).toBe(401);
  });
});

describe("legacy /api/v1/fusion (the old library's ModalityInput and FusionResult)", () => {
  const legacy = (body: unknown, headers: Record<string, string> = {}, token = user.accessToken) =>
    api("POST", "/api/v1/fusion", { token, body, headers });
  const at = "2024-05-01T10:00:00Z";

  it("text and code items in, the old FusionResult out: real connections, no invented embeddings", async () => {
    const res = await legacy([
      { id: crypto.randomUUID(), modality: "text", content: "Deploy the Marrowby parser tonight.", timestamp: at },
      {
        id: crypto.randomUUID(),
        modality: "code",
        content: Array.from(new TextEncoder().encode("// The Marrowby parser\nexport const parse = (s: string) => s;")),
        metadata: { name: "parser.ts" },
        timestamp: at,
      },
    ]);
    expect(res.status).toBe(200);
    const result = await json<LegacyFusionResult>(res);
    expect(LegacyFusionResult.safeParse(result).success).toBe(true);
    expect(result.unified_representation).toEqual({
      embeddings: [],
      attention_weights: [],
      modality_contributions: { text: 1 },
      semantic_features: {},
    });
    expect(result.cross_modal_connections).toContainEqual(
      expect.objectContaining({ source_modality: "text", target_modality: "text", connection_type: "semantic" }),
    );
    // Reasoning is the evidence the rule found, not a fixed sentence.
    expect(result.reasoning.join(" ").toLowerCase()).toContain("marrowby");
    expect(result.processing_time_ms).toBeGreaterThanOrEqual(0);
    // The same fusion, by its UUID, in both shapes; the new one is fus_ and the same digits.
    const again = await api("GET", `/api/v1/fusion/${result.id}`, { token: user.accessToken });
    expect((await json<LegacyFusionResult>(again)).cross_modal_connections).toEqual(result.cross_modal_connections);
    const fresh = await api("GET", `/v1/fusion/fus_${result.id.replaceAll("-", "")}`, { token: user.accessToken });
    expect(fresh.status).toBe(200);
    const other = await registerUser();
    expect((await api("GET", `/api/v1/fusion/${result.id}`, { token: other.accessToken })).status).toBe(404);
  });

  it("AudioData samples become a WAV transcription job and a png ImageData an OCR job: 202 with a Location", async () => {
    const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0];
    const samples = Array.from({ length: 3_200 }, (_, i) => Math.sin(i / 8) * 0.2);
    const res = await legacy(
      {
        inputs: [
          { modality: "speech", content: { samples, sample_rate: 16_000, channels: 2, duration_ms: 100 } },
          { modality: "vision", content: { width: 1, height: 1, channels: 4, data: png, format: "png" } },
        ],
      },
      { Prefer: "wait=0" },
    );
    expect(res.status).toBe(202);
    const running = await json<{ id: string; status: string }>(res);
    expect(running.status).toBe("running");
    expect(res.headers.get("Location")).toBe(`/api/v1/fusion/${running.id}`);
    const fusionId = `fus_${running.id.replaceAll("-", "")}`;
    expect((await api("GET", `/v1/jobs/${fusionId}_0_transcribe`, { token: user.accessToken })).status).toBe(200);
    // The bytes the job reads: two interleaved channels of 3,200 samples are 1,600 mono frames, 16-bit WAV.
    const stored = await env.FILES.get(`fusion/${fusionId}/0`);
    expect(stored?.httpMetadata?.contentType).toBe("audio/wav");
    const wav = new Uint8Array((await stored?.arrayBuffer()) ?? new ArrayBuffer(0));
    expect(String.fromCharCode(...wav.subarray(0, 4), ...wav.subarray(8, 12))).toBe("RIFFWAVE");
    expect(wav.byteLength).toBe(44 + 1_600 * 2);
    expect((await api("GET", `/v1/jobs/${fusionId}_1_vision_ocr`, { token: user.accessToken })).status).toBe(200);
    const polled = await api("GET", `/api/v1/fusion/${running.id}`, { token: user.accessToken });
    expect(polled.status).toBe(202);
  });

  it("400 for what the old shapes allowed and the fusion cannot read; 401 without a token", async () => {
    const one = (item: unknown) => legacy([item]);
    const refusals = [
      { modality: "video", content: { frames: [], fps: 24 } },
      { modality: "sensor", content: "22.5C" },
      { modality: "vision", content: { width: 1, height: 1, channels: 3, data: [1, 2, 3], format: "rgb" } },
      { modality: "audio", content: [0.25, -0.5, 0.125] },
      { modality: "text", content: [0xff, 0xfe, 0xfd] },
      { modality: "speech", content: "not audio" },
      { modality: "telepathy", content: "x" },
    ];
    for (const item of refusals) {
      const res = await one(item);
      expect(res.status, JSON.stringify(item)).toBe(400);
      expect((await json<{ error: { code: string } }>(res)).error.code).toBe("invalid_request");
    }
    expect((await legacy([])).status).toBe(400);
    expect((await api("POST", "/api/v1/fusion", { body: [{ modality: "text", content: "x" }] })).status).toBe(401);
    expect((await api("GET", "/api/v1/fusion/not-a-uuid", { token: user.accessToken })).status).toBe(400);
  });
});
