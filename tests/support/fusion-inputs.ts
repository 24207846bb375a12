// The three-modality fusion that the end-to-end test and bench:fusion both send: an image rendered with text
// (PaddleOCR reads it), speech espeak-ng makes through the suite's own /v1/audio/speech (the tiny whisper.cpp model
// decodes any audio to TINY_WHISPER_TEXT), and a generated PDF whose table names the same word (pdf.js reads it).
// "Tessera" is in all three.
import type { FusionInput } from "../../src/lib/fusion/model";
import { renderText } from "../gpu-worker/support/images";
import { TINY_WHISPER_TEXT } from "../gpu-worker/support/tiny-whisper";
import { pdf } from "./documents";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

export async function threeModalityInputs(base: string, token: string): Promise<FusionInput[]> {
  const speech = await fetch(`${base.replace(/\/$/, "")}/v1/audio/speech`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "tts-1", input: TINY_WHISPER_TEXT, voice: "alloy", response_format: "wav" }),
  });
  if (speech.status !== 200) throw new Error(`speech answered ${speech.status}: ${await speech.text()}`);
  return [
    {
      type: "image",
      base64: b64(await renderText("Tessera harbour office")),
      mediaType: "image/png",
      name: "sign.png",
      analyses: ["ocr"],
    },
    {
      type: "audio",
      base64: b64(new Uint8Array(await speech.arrayBuffer())),
      mediaType: "audio/wav",
      name: "clip.wav",
    },
    {
      type: "document",
      base64: b64(
        await pdf([
          {
            heading: "Berths",
            table: [
              ["Vessel", "Quay"],
              ["Tessera", "Northgate"],
            ],
          },
        ]),
      ),
      mediaType: "application/pdf",
      name: "berths.pdf",
    },
  ];
}
