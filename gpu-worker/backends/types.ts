// One small interface per engine: load a model, run a job on it, unload it.
import type { JobTypeName, JsonValue } from "../../src/lib/jobs/protocol";
import type { ModelEntry } from "../config";
import type { Log } from "../log";

/** A job's input as the backend sees it: the text, or the downloaded bytes with their media type. */
export interface JobInput {
  type: JobTypeName;
  text?: string;
  bytes?: Uint8Array;
  mediaType?: string;
  options: Record<string, JsonValue>;
}

export interface Artifact {
  name: string;
  contentType: string;
  bytes: Uint8Array;
}

export interface JobOutput {
  result: JsonValue;
  artifacts?: Artifact[];
}

export interface RunContext {
  /** Aborted when the job is cancelled, its lease is lost, or the worker shuts down. */
  signal: AbortSignal;
  /** Reports progress (0–1); sent to the board with the next heartbeat. */
  progress(fraction: number): void;
  /**
   * Streams a piece of the result as soon as it exists (llm.chat's tokens): the worker posts pieces to the job's
   * output in order, batching what accumulates while a post is in flight (docs/llm.md "Streaming from the GPU
   * worker"). Absent where nobody listens (engine tests).
   */
  emit?(piece: string): void;
  log: Log;
}

export interface LoadedModel {
  run(input: JobInput, ctx: RunContext): Promise<JobOutput>;
  unload(): Promise<void>;
}

export interface LoadContext {
  device: "cpu" | "cuda";
  threads: number;
  log: Log;
  hfEndpoint?: string;
  hfToken?: string;
}

export interface Backend {
  load(entry: ModelEntry, ctx: LoadContext): Promise<LoadedModel>;
}

export function requireBytes(input: JobInput): Uint8Array {
  if (!input.bytes) throw new Error(`${input.type} needs byte input`);
  return input.bytes;
}

export function stringOption(input: JobInput, name: string): string | undefined {
  const value = input.options[name];
  return typeof value === "string" ? value : undefined;
}

export function numberOption(input: JobInput, name: string): number | undefined {
  const value = input.options[name];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}
