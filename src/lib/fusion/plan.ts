// What a fusion runs: per input, either findings already made at the edge (text, Office documents) or the GPU
// jobs whose results become its findings. The route builds the plan; the FusionRun object carries it out.
import type { TranscriptResult } from "../audio/transcript-formats";
import type { ExtractedDocument } from "../documents/model";
import type { ClassifyResult, DetectResult, JobInputRef, JsonValue, OcrResult } from "../jobs/protocol";
import type { JobType } from "../jobs/types";
import {
  classifyFindings,
  detectFindings,
  documentFindings,
  meanConfidence,
  ocrFindings,
  transcriptFindings,
} from "./findings";
import type { Finding, Modality, ModalityResult } from "./model";

export interface PlannedJob {
  type: JobType;
  id: string;
  input: JobInputRef;
  options: Record<string, JsonValue>;
}

export interface PlannedInput {
  input: number;
  type: Modality;
  source: string;
  /** Findings made at the edge: nothing to wait for. */
  done?: ModalityResult;
  jobs: PlannedJob[];
}

export interface FusionPlan {
  id: string;
  owner: string;
  roles: string[];
  question?: string;
  model?: string;
  createdAt: number;
  inputs: PlannedInput[];
}

/** A finished job's findings; `document` is the extracted document a `document.extract` job wrote. */
export function jobFindings(type: JobType, result: JsonValue | undefined, document?: ExtractedDocument): Finding[] {
  switch (type) {
    case "vision.ocr":
      return ocrFindings(result as OcrResult);
    case "vision.detect":
      return detectFindings(result as DetectResult);
    case "vision.classify":
      return classifyFindings(result as ClassifyResult);
    case "transcribe":
      return transcriptFindings(result as TranscriptResult);
    case "document.extract":
      return document ? documentFindings(document) : [];
    default:
      return [];
  }
}

/** An input's result from its jobs' outcomes: ok when any of them gave findings, failed (with why) when none did. */
export function inputResult(
  planned: PlannedInput,
  outcomes: { job: PlannedJob; findings?: Finding[]; error?: string }[],
): ModalityResult {
  const findings = outcomes.flatMap((o) => o.findings ?? []);
  const errors = outcomes.filter((o) => o.error).map((o) => `${o.job.type}: ${o.error}`);
  const ok = outcomes.some((o) => o.findings !== undefined);
  return {
    input: planned.input,
    type: planned.type,
    source: planned.source,
    status: ok ? "ok" : "failed",
    ...(errors.length ? { error: errors.join("; ") } : {}),
    findings,
    confidence: meanConfidence(findings),
  };
}
