// The engines by the name the models file uses. Each is imported on first use, so a worker that never runs one
// never loads its native libraries.
import type { BackendName } from "../config";
import type { Backend } from "./types";

const IMPORTS: Record<BackendName, () => Promise<Backend>> = {
  "whisper.cpp": async () => (await import("./whisper")).whisperBackend,
  "espeak-ng": async () => (await import("./espeak")).espeakBackend,
  paddleocr: async () => (await import("./ocr")).paddleOcrBackend,
  human: async () => (await import("./human")).humanBackend,
  transformers: async () => (await import("./transformers")).transformersBackend,
  "hf-inference": async () => (await import("./hf-inference")).hfInferenceBackend,
  piper: async () => (await import("./piper")).piperBackend,
  pdfjs: async () => (await import("./pdf")).pdfBackend,
  "llama.cpp": async () => (await import("./llama")).llamaBackend,
};

export function backend(name: BackendName): Promise<Backend> {
  return IMPORTS[name]();
}
