// The worker's configuration: environment variables and a models file, validated once at start. Every mistake is
// reported with the variable (or the models file's entry) it is in, all at once, before anything runs.
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { JOB_LIMITS, JOB_TYPES, type JobTypeName, WORKER_SECRET_PREFIX } from "../src/lib/jobs/protocol";
import type { LogLevel } from "./log";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_MODELS_FILE = resolve(REPO_ROOT, "gpu-worker", "models.json");
export const DEFAULT_MODELS_DIR = resolve(REPO_ROOT, ".data", "models");

export const BACKENDS = [
  "whisper.cpp",
  "espeak-ng",
  "paddleocr",
  "human",
  "transformers",
  "hf-inference",
  "piper",
  "pdfjs",
  "llama.cpp",
] as const;
export type BackendName = (typeof BACKENDS)[number];

/** One model the worker can load: the id the board knows it by (JOB_TYPES' `model`) and how to run it. */
export const ModelEntry = z
  .object({
    id: z.string().min(1).max(128),
    backend: z.enum(BACKENDS, { error: `backend must be one of ${BACKENDS.join(", ")}` }),
    /** The model's file or directory; relative paths are under GPU_WORKER_MODELS_DIR. Absent: the package ships it. */
    path: z.string().min(1).optional(),
    /**
     * Another model id (e.g. `espeak-ng`) whose jobs this entry runs instead once its files are on disk (a Piper
     * voice for speech); without its files that model keeps serving them.
     */
    replaces: z.string().min(1).max(128).optional(),
    /** What it needs in GPU memory (or RAM on a CPU worker), in MiB: the ledger charges at least this. */
    vramMiB: z.number().int().nonnegative(),
    /** How long it stays loaded after its last job; 0 unloads it as soon as it is idle. */
    keepAliveMs: z
      .number()
      .int()
      .nonnegative()
      .default(5 * 60_000),
    /** Jobs it runs at once. */
    concurrency: z.number().int().min(1).max(16).default(1),
    /** Never evicted and loaded at start. */
    pinned: z.boolean().default(false),
    /** Backend-specific settings (whisper threads, the remote model name, the classifier's task …). */
    options: z.record(z.string(), z.json()).default({}),
  })
  .strict();
export type ModelEntry = z.output<typeof ModelEntry>;

export const ModelsFile = z
  .object({ models: z.array(ModelEntry).min(1, "list at least one model") })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.models.forEach((m, i) => {
      if (seen.has(m.id)) ctx.addIssue({ code: "custom", path: ["models", i, "id"], message: `duplicate id ${m.id}` });
      seen.add(m.id);
    });
  });

const int = (name: string, fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === "") return fallback;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `${name} must be an integer in ${min}..${max} (got "${raw}")` });
        return z.NEVER;
      }
      return n;
    });

const Env = z.object({
  TESSERA_URL: z
    .string({ error: "TESSERA_URL is required: the edge's base URL, e.g. https://api.example.com" })
    .url("TESSERA_URL must be an absolute http(s) URL")
    .refine((u) => /^https?:\/\//.test(u), "TESSERA_URL must be an http(s) URL"),
  GPU_WORKER_SECRET: z
    .string({
      error: "GPU_WORKER_SECRET is required: a worker credential from POST /v1/admin/gpu-workers (tgw_…)",
    })
    .refine(
      (s) => s.startsWith(WORKER_SECRET_PREFIX) && s.length >= 36,
      `GPU_WORKER_SECRET must be a worker credential: ${WORKER_SECRET_PREFIX} and at least 32 more characters`,
    ),
  GPU_WORKER_DEVICE: z.enum(["cpu", "cuda"], { error: 'GPU_WORKER_DEVICE must be "cpu" or "cuda"' }).default("cpu"),
  GPU_WORKER_VRAM_BUDGET_MIB: int("GPU_WORKER_VRAM_BUDGET_MIB", 24 * 1024, 1, 1024 * 1024),
  GPU_WORKER_MODELS: z.string().default(DEFAULT_MODELS_FILE),
  GPU_WORKER_MODELS_DIR: z.string().default(DEFAULT_MODELS_DIR),
  GPU_WORKER_MAX_JOBS: int("GPU_WORKER_MAX_JOBS", 4, 1, JOB_LIMITS.maxLeaseBatch * 4),
  GPU_WORKER_TYPES: z.string().optional(),
  GPU_WORKER_HOST: z.string().default("127.0.0.1"),
  GPU_WORKER_PORT: int("GPU_WORKER_PORT", 9477, 0, 65_535),
  GPU_WORKER_LEASE_WAIT_MS: int("GPU_WORKER_LEASE_WAIT_MS", 20_000, 0, JOB_LIMITS.maxLeaseWaitMs),
  GPU_WORKER_IDLE_POLL_MS: int("GPU_WORKER_IDLE_POLL_MS", 500, 10, 60_000),
  GPU_WORKER_IDLE_POLL_MAX_MS: int("GPU_WORKER_IDLE_POLL_MAX_MS", 5_000, 10, 60_000),
  GPU_WORKER_HEARTBEAT_MS: int("GPU_WORKER_HEARTBEAT_MS", 15_000, 100, 60_000),
  GPU_WORKER_SHUTDOWN_GRACE_MS: int("GPU_WORKER_SHUTDOWN_GRACE_MS", 30_000, 0, 600_000),
  GPU_WORKER_THREADS: int("GPU_WORKER_THREADS", 0, 0, 256),
  HF_INFERENCE_ENDPOINT: z.string().url("HF_INFERENCE_ENDPOINT must be a URL").optional(),
  HF_TOKEN: z.string().optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

export interface WorkerConfig {
  edgeUrl: string;
  secret: string;
  device: "cpu" | "cuda";
  budgetMiB: number;
  modelsFile: string;
  modelsDir: string;
  models: ModelEntry[];
  /** The job types this worker asks for: those whose model is in the registry (and in GPU_WORKER_TYPES if set). */
  types: JobTypeName[];
  maxJobs: number;
  host: string;
  port: number;
  leaseWaitMs: number;
  /** Pause after an empty short-poll answer, doubling while idle up to idlePollMaxMs. */
  idlePollMs: number;
  idlePollMaxMs: number;
  heartbeatMs: number;
  shutdownGraceMs: number;
  /** CPU threads for engines that take a count; 0: the engine's default. */
  threads: number;
  hfEndpoint?: string;
  hfToken?: string;
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`GPU worker configuration is invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function issues(error: z.ZodError, where: (path: PropertyKey[]) => string): string[] {
  return error.issues.map((issue) => {
    const at = where(issue.path);
    return at && !issue.message.startsWith(at) ? `${at}: ${issue.message}` : issue.message;
  });
}

/** The models file's entries, or the problems with it (each naming the entry and field). */
export function parseModelsFile(text: string, file: string): ModelEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`${file} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`]);
  }
  const parsed = ModelsFile.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      issues(parsed.error, (path) => {
        const [, index, ...rest] = path;
        const id = typeof index === "number" ? (raw as { models?: { id?: unknown }[] }).models?.[index]?.id : undefined;
        const entry = typeof index === "number" ? `models[${index}]${typeof id === "string" ? ` (${id})` : ""}` : "";
        return `${file}${entry ? ` ${entry}` : ""}${rest.length ? `.${rest.join(".")}` : ""}`;
      }),
    );
  }
  return parsed.data.models;
}

/** The entry with its path and `options.fallbackPaths` made absolute (relative ones are under the models dir). */
function resolvePaths(m: ModelEntry, modelsDir: string): ModelEntry {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(modelsDir, p));
  const fallbacks = m.options.fallbackPaths;
  return {
    ...m,
    path: m.path ? abs(m.path) : undefined,
    options: Array.isArray(fallbacks)
      ? { ...m.options, fallbackPaths: fallbacks.map((p) => (typeof p === "string" ? abs(p) : p)) }
      : m.options,
  };
}

/**
 * The entry each job's model id runs on: its own, except where a provisioned entry `replaces` it (checked once,
 * at start: a voice copied in later takes a restart).
 */
export function jobModels(models: ModelEntry[]): Map<string, ModelEntry> {
  const byId = new Map(models.map((m) => [m.id, m]));
  for (const m of models) {
    if (m.replaces && provisioned(m)) byId.set(m.replaces, m);
  }
  return byId;
}

/** Whether an entry's files are on disk: its path, and for a Piper voice the .onnx.json beside it. */
export function provisioned(m: ModelEntry): boolean {
  if (!m.path || !existsSync(m.path)) return false;
  return m.backend !== "piper" || existsSync(`${m.path}.json`);
}

/** Reads and validates the whole configuration; throws one ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = Env.safeParse(env);
  if (!parsed.success) throw new ConfigError(issues(parsed.error, (path) => String(path[0] ?? "")));
  const e = parsed.data;
  const modelsFile = resolve(e.GPU_WORKER_MODELS);
  if (!existsSync(modelsFile)) throw new ConfigError([`GPU_WORKER_MODELS: no models file at ${modelsFile}`]);
  const models = parseModelsFile(readFileSync(modelsFile, "utf8"), modelsFile);

  const known = new Map<string, JobTypeName>(
    Object.entries(JOB_TYPES).map(([type, spec]) => [spec.model, type as JobTypeName]),
  );
  const problems: string[] = [];
  let wanted: JobTypeName[] | undefined;
  if (e.GPU_WORKER_TYPES) {
    wanted = [];
    for (const name of e.GPU_WORKER_TYPES.split(",").map((s) => s.trim())) {
      if (name in JOB_TYPES) wanted.push(name as JobTypeName);
      else problems.push(`GPU_WORKER_TYPES: unknown job type "${name}" (known: ${Object.keys(JOB_TYPES).join(", ")})`);
    }
  }
  const types = models
    .map((m) => known.get(m.id) ?? (m.replaces ? known.get(m.replaces) : undefined))
    .filter((t): t is JobTypeName => t !== undefined && (!wanted || wanted.includes(t)));
  if (types.length === 0) {
    problems.push(
      `${modelsFile}: no model serves a job type${wanted ? " in GPU_WORKER_TYPES" : ""}; model ids must be the registry's (${[...known.keys()].join(", ")})`,
    );
  }
  for (const m of models) {
    if (m.backend === "hf-inference" && !e.HF_INFERENCE_ENDPOINT && typeof m.options.endpointUrl !== "string") {
      problems.push(
        `${modelsFile} (${m.id}): the hf-inference backend needs HF_INFERENCE_ENDPOINT or options.endpointUrl`,
      );
    }
  }
  if (problems.length) throw new ConfigError(problems);

  const modelsDir = resolve(e.GPU_WORKER_MODELS_DIR);
  return {
    edgeUrl: e.TESSERA_URL.replace(/\/+$/, ""),
    secret: e.GPU_WORKER_SECRET,
    device: e.GPU_WORKER_DEVICE,
    budgetMiB: e.GPU_WORKER_VRAM_BUDGET_MIB,
    modelsFile,
    modelsDir,
    models: models.map((m) => resolvePaths(m, modelsDir)),
    types: [...new Set(types)],
    maxJobs: e.GPU_WORKER_MAX_JOBS,
    host: e.GPU_WORKER_HOST,
    port: e.GPU_WORKER_PORT,
    leaseWaitMs: e.GPU_WORKER_LEASE_WAIT_MS,
    idlePollMs: e.GPU_WORKER_IDLE_POLL_MS,
    idlePollMaxMs: Math.max(e.GPU_WORKER_IDLE_POLL_MS, e.GPU_WORKER_IDLE_POLL_MAX_MS),
    heartbeatMs: e.GPU_WORKER_HEARTBEAT_MS,
    shutdownGraceMs: e.GPU_WORKER_SHUTDOWN_GRACE_MS,
    threads: e.GPU_WORKER_THREADS,
    hfEndpoint: e.HF_INFERENCE_ENDPOINT,
    hfToken: e.HF_TOKEN,
    logLevel: e.LOG_LEVEL,
  };
}
