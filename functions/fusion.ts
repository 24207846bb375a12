// /v1/fusion: one request with any mix of text, images, audio, documents and stored files. Text and the formats the
// edge reads become findings at once; the rest fan out in parallel to GPU jobs; a FusionRun object gathers them
// and synthesizes once through the LLM router. 202 with the fusion, or its result within `Prefer: wait=N`.
import type { Context } from "hono";
import { z } from "zod";
import { db } from "../src/lib/db/client";
import { extractAtEdge } from "../src/lib/documents/extract";
import { readsAtEdge, requireDocumentFormat } from "../src/lib/documents/service";
import { blobKey, getFile } from "../src/lib/files/store";
import { documentFindings, meanConfidence, textFindings } from "../src/lib/fusion/findings";
import {
  FUSION_LIMITS,
  type FusionInput,
  FusionRequest,
  FusionResult,
  type ModalityResult,
} from "../src/lib/fusion/model";
import type { FusionPlan, PlannedInput, PlannedJob } from "../src/lib/fusion/plan";
import { principal } from "../src/lib/identity/auth";
import { acceptedMediaType } from "../src/lib/jobs/media";
import { JOB_LIMITS } from "../src/lib/jobs/protocol";
import { type JobType, jobTypeSpec } from "../src/lib/jobs/types";
import { fromBase64 } from "../src/lib/platform/base64";
import type { AppEnv, Env } from "../src/lib/platform/env";
import { ApiError } from "../src/lib/platform/errors";
import { preferredWaitMs } from "../src/lib/platform/prefer";
import { ApiRouter } from "../src/lib/platform/router";

export const WAIT_MAX_MS = 60_000;
const WAIT_POLL_MS = 200;
const IMAGE_JOBS = { ocr: "vision.ocr", detect: "vision.detect", classify: "vision.classify" } as const;

const fusionStub = (env: Env, id: string) => env.FUSION.get(env.FUSION.idFromName(id));

const invalid = (input: number, message: string) =>
  new ApiError("invalid_request", message, {
    issues: [{ path: ["body", "inputs", input], code: "invalid_input", message }],
  });

/** Bytes of one input, checked against what its jobs accept; stored once in R2 for every job that reads them. */
async function storedBytes(
  env: Env,
  id: string,
  n: number,
  base64: string,
  declared: string,
  accepted: readonly string[],
) {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(base64);
  } catch {
    throw invalid(n, "base64 is not valid");
  }
  if (bytes.byteLength > JOB_LIMITS.maxInputBytes) {
    throw new ApiError("payload_too_large", `Input ${n} is over ${JOB_LIMITS.maxInputBytes} bytes`);
  }
  const mediaType = acceptedMediaType(declared, bytes, accepted);
  if (!mediaType)
    throw new ApiError(
      "unsupported_media_type",
      `Input ${n} is ${declared}; this modality takes ${accepted.join(", ")}`,
    );
  const r2Key = `fusion/${id}/${n}`;
  await env.FILES.put(r2Key, bytes, { httpMetadata: { contentType: mediaType } });
  return { bytes, ref: { r2Key, mediaType, bytes: bytes.byteLength } };
}

const job = (
  fusionId: string,
  n: number,
  type: JobType,
  ref: PlannedJob["input"],
  options: PlannedJob["options"] = {},
): PlannedJob => ({
  type,
  id: `${fusionId}_${n}_${type.replace(".", "_")}`,
  input: ref,
  options,
});

function edgeResult(
  n: number,
  type: ModalityResult["type"],
  source: string,
  findings: ModalityResult["findings"],
): ModalityResult {
  return { input: n, type, source, status: "ok", findings, confidence: meanConfidence(findings) };
}

/** One input as the plan needs it: findings made here, or the jobs to run. */
async function planInput(c: Context<AppEnv>, id: string, n: number, input: FusionInput): Promise<PlannedInput> {
  const env = c.env;
  const name = "name" in input && input.name ? input.name : `input ${n}`;
  switch (input.type) {
    case "text":
      return {
        input: n,
        type: "text",
        source: name,
        done: edgeResult(n, "text", name, textFindings(input.text)),
        jobs: [],
      };
    case "image": {
      const { ref } = await storedBytes(
        env,
        id,
        n,
        input.base64,
        input.mediaType,
        jobTypeSpec("vision.ocr").mediaTypes,
      );
      const analyses = input.analyses ?? ["ocr", "detect", "classify"];
      return { input: n, type: "image", source: name, jobs: analyses.map((a) => job(id, n, IMAGE_JOBS[a], ref)) };
    }
    case "audio": {
      const { ref } = await storedBytes(
        env,
        id,
        n,
        input.base64,
        input.mediaType,
        jobTypeSpec("transcribe").mediaTypes,
      );
      const options = { timestampGranularities: ["segment"] };
      return { input: n, type: "audio", source: name, jobs: [job(id, n, "transcribe", ref, options)] };
    }
    case "document": {
      let bytes: Uint8Array;
      try {
        bytes = fromBase64(input.base64);
      } catch {
        throw invalid(n, "base64 is not valid");
      }
      const format = requireDocumentFormat(input.mediaType);
      if (readsAtEdge(format)) {
        return {
          input: n,
          type: "document",
          source: name,
          done: edgeResult(n, "document", name, documentFindings(extractAtEdge(bytes, format))),
          jobs: [],
        };
      }
      const { ref } = await storedBytes(
        env,
        id,
        n,
        input.base64,
        input.mediaType,
        jobTypeSpec("document.extract").mediaTypes,
      );
      return { input: n, type: "document", source: name, jobs: [job(id, n, "document.extract", ref)] };
    }
    case "file": {
      const owner = principal(c).sub;
      const file = await getFile(db(env), owner, input.fileId);
      const ref = { r2Key: blobKey(owner, file.sha256), mediaType: file.mediaType, bytes: file.size };
      if (file.size > JOB_LIMITS.maxInputBytes)
        throw new ApiError("payload_too_large", `Input ${n} is over ${JOB_LIMITS.maxInputBytes} bytes`);
      const source = file.path;
      if (jobTypeSpec("vision.ocr").mediaTypes.includes(file.mediaType)) {
        const analyses = input.analyses ?? ["ocr", "detect", "classify"];
        return { input: n, type: "image", source, jobs: analyses.map((a) => job(id, n, IMAGE_JOBS[a], ref)) };
      }
      if (jobTypeSpec("transcribe").mediaTypes.includes(file.mediaType)) {
        return {
          input: n,
          type: "audio",
          source,
          jobs: [job(id, n, "transcribe", ref, { timestampGranularities: ["segment"] })],
        };
      }
      const format = requireDocumentFormat(file.mediaType);
      if (!readsAtEdge(format))
        return { input: n, type: "document", source, jobs: [job(id, n, "document.extract", ref)] };
      const object = await env.FILES.get(ref.r2Key);
      if (!object) throw new ApiError("not_found", "The file's content is missing; upload it again");
      const doc = extractAtEdge(new Uint8Array(await object.arrayBuffer()), format);
      return {
        input: n,
        type: "document",
        source,
        done: edgeResult(n, "document", source, documentFindings(doc)),
        jobs: [],
      };
    }
  }
}

/** Plans every input and starts the fusion's object; the id it answers is the fusion's. */
export async function startFusion(c: Context<AppEnv>, body: FusionRequest): Promise<string> {
  const who = principal(c);
  const id = `fus_${crypto.randomUUID().replaceAll("-", "")}`;
  const inputs = await Promise.all(body.inputs.map((input, n) => planInput(c, id, n, input)));
  const plan: FusionPlan = {
    id,
    owner: who.sub,
    roles: who.roles,
    ...(body.question ? { question: body.question } : {}),
    ...(body.model ? { model: body.model } : {}),
    createdAt: Date.now(),
    inputs,
  };
  await fusionStub(c.env, id).start(plan);
  return id;
}

/**
 * Starts a fusion and waits for it as long as the request's `Prefer: wait=N` says (`defaultWaitMs` without one, at
 * most WAIT_MAX_MS): the result, finished or as it stands.
 */
export async function fuseAndWait(
  c: Context<AppEnv>,
  body: FusionRequest,
  defaultWaitMs: number,
): Promise<FusionResult> {
  const id = await startFusion(c, body);
  const waitMs = preferredWaitMs(c.req.header("prefer"), defaultWaitMs, WAIT_MAX_MS);
  const result = await waitForFusion(c.env, id, principal(c).sub, waitMs);
  if (!result) throw new ApiError("internal", "The fusion was not recorded");
  return result;
}

/** The owner's fusion once it has finished, or as it stands when `ms` have passed; null for no such fusion. */
export async function waitForFusion(env: Env, id: string, owner: string, ms: number): Promise<FusionResult | null> {
  const deadline = Date.now() + ms;
  for (;;) {
    const result = await fusionStub(env, id).get(owner);
    if (result?.status !== "running" || Date.now() >= deadline) return result;
    await new Promise((r) => setTimeout(r, Math.min(WAIT_POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}

function answer(c: Context<AppEnv>, result: FusionResult): Response {
  if (result.status !== "running") return c.json(result, 200);
  c.header("Location", `/v1/fusion/${result.id}`);
  return c.json(result, 202);
}

export const fusionService = new ApiRouter("fusion")
  .route(
    {
      method: "post",
      path: "/",
      auth: "user",
      summary: "Fuse text, images, audio, documents and stored files into one answer with cited connections",
      description:
        "Fans out in parallel to transcription, OCR, detection, classification and document extraction, then " +
        "synthesizes once through the LLM router (`model`, an alias). Answers 202 with the fusion " +
        `(\`Location: /v1/fusion/:id\`), or its result within \`Prefer: wait=N\` (at most ${WAIT_MAX_MS / 1000} s). ` +
        `At most ${FUSION_LIMITS.maxInputs} inputs. docs/fusion.md.`,
      body: FusionRequest,
      bodyLimit: Math.ceil(JOB_LIMITS.maxInputBytes / 3) * 4 * 2 + 64 * 1024,
      timeoutMs: WAIT_MAX_MS + 10_000,
      responses: {
        200: { description: "The result", schema: FusionResult },
        202: { description: "Still running: the result so far", schema: FusionResult },
      },
    },
    async (c, { body }) => answer(c, await fuseAndWait(c, body, 0)),
  )
  .route(
    {
      method: "get",
      path: "/:id",
      auth: "user",
      summary: "A fusion: its result, or what it has so far while it runs",
      params: z.object({ id: z.string().regex(/^fus_[0-9a-f]{32}$/) }),
      responses: {
        200: { description: "The result", schema: FusionResult },
        202: { description: "Still running", schema: FusionResult },
        404: { description: "No such fusion of yours" },
      },
    },
    async (c, { params }) => {
      const result = await waitForFusion(c.env, params.id, principal(c).sub, 0);
      if (!result) throw new ApiError("not_found", "No such fusion");
      return answer(c, result);
    },
  );
