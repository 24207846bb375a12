// /v1/fusion at the edge: text and an Office document become findings without a GPU job; the FusionRun object
// gathers them on its alarm and answers within Prefer: wait; without a chat model the result keeps every finding
// and the rule connections and says synthesis was skipped. Images become GPU jobs. Bad input is refused.
import { beforeAll, describe, expect, it } from "vitest";
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
