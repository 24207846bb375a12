// A client's job submission: checked against the job-type registry, its bytes stored in R2, and an
// Idempotency-Key turned into the job's id so that a retried submission finds the job it already made.
import type { Context } from "hono";
import { z } from "zod";
import { sha256Hex } from "../identity/tokens";
import { fromBase64, toBase64 } from "../platform/base64";
import type { AppEnv } from "../platform/env";
import { ApiError } from "../platform/errors";
import { jobInputKey } from "./board";
import { fetchUrlInput } from "./input-url";
import { acceptedMediaType } from "./media";
import { JOB_LIMITS, type JobInputRef, type JobSpec, JobTypeName } from "./protocol";
import { jobTypeSpec } from "./types";

export const JobSubmission = z
  .object({
    type: JobTypeName,
    input: z.union([
      z.object({ text: z.string().min(1) }).strict(),
      z
        .object({
          base64: z.string().min(1),
          mediaType: z.string().min(1).max(128),
        })
        .strict(),
      z
        .object({
          url: z.string().min(1).max(2048),
          mediaType: z.string().min(1).max(128).optional().describe("Overrides the download's Content-Type"),
        })
        .strict(),
    ]),
    options: z.record(z.string(), z.json()).default({}),
  })
  .strict();
export type JobSubmission = z.output<typeof JobSubmission>;

/**
 * A multipart submission (fields `type`, `file` or `text`, optional `options` as JSON) as the JSON form, so both
 * meet the same schema. The file goes through base64 once; at the input limit that costs a few milliseconds.
 */
export async function submissionFromForm(form: FormData): Promise<unknown> {
  const file = form.get("file");
  const text = form.get("text");
  let input: unknown;
  if (file instanceof File) {
    input = {
      base64: toBase64(new Uint8Array(await file.arrayBuffer())),
      mediaType: file.type || "application/octet-stream",
    };
  } else if (typeof text === "string") {
    input = { text };
  }
  const options = form.get("options");
  let parsedOptions: unknown;
  try {
    parsedOptions = typeof options === "string" ? JSON.parse(options) : undefined;
  } catch {
    // Left as the raw string: the schema then reports `options` as the wrong type.
    parsedOptions = options;
  }
  return { type: form.get("type") ?? undefined, input, options: parsedOptions };
}

/** A JSON body carries the input as base64 (4 characters per 3 bytes), plus room for the rest of the body. */
export const SUBMISSION_BODY_LIMIT = Math.ceil(JOB_LIMITS.maxInputBytes / 3) * 4 + 64 * 1024;

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;

const invalid = (path: string[], message: string) =>
  new ApiError("invalid_request", message, { issues: [{ path: ["body", ...path], code: "invalid_input", message }] });

/** The job's id: random, or derived from the caller and their Idempotency-Key so a retry maps to the same job. */
export async function submissionJobId(c: Context<AppEnv>, owner: string): Promise<string> {
  const key = c.req.header("idempotency-key");
  if (key === undefined) return `job_${crypto.randomUUID().replaceAll("-", "")}`;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new ApiError("invalid_request", "Idempotency-Key must be 1-128 letters, digits or . _ : -", {
      issues: [{ path: ["header", "idempotency-key"], code: "invalid_string", message: "Invalid Idempotency-Key" }],
    });
  }
  return `job_${(await sha256Hex(`${owner}\n${key}`)).slice(0, 32)}`;
}

/**
 * With an Idempotency-Key, the same key must come with the same request: a reuse with a different body answers 422
 * (as Stripe and draft-ietf-httpapi-idempotency-key-header do) instead of silently returning the first job. The
 * fingerprint is a SHA-256 of the validated body (for multipart, of the JSON it maps to).
 */
export async function assertSameSubmission(
  c: Context<AppEnv>,
  board: { claimIdempotency(jobId: string, fingerprint: string): Promise<boolean> },
  jobId: string,
  body: unknown,
): Promise<void> {
  if (c.req.header("idempotency-key") === undefined) return;
  const fingerprint = await sha256Hex(JSON.stringify(body));
  if (!(await board.claimIdempotency(jobId, fingerprint))) {
    throw new ApiError("unprocessable", "This Idempotency-Key was already used with a different request body", {
      issues: [
        { path: ["header", "idempotency-key"], code: "idempotency_key_reused", message: "Reused with another body" },
      ],
    });
  }
}

/** Checks the input against the type's registry entry and stores bytes in R2; answers what the board keeps. */
export async function storeSubmissionInput(
  c: Context<AppEnv>,
  jobId: string,
  sub: JobSubmission,
): Promise<JobInputRef> {
  const spec = jobTypeSpec(sub.type);
  if (spec.input === "text") {
    if (!("text" in sub.input)) throw invalid(["input"], `A ${sub.type} job takes {text}`);
    const max = spec.maxTextChars ?? Number.POSITIVE_INFINITY;
    if (sub.input.text.length > max)
      throw invalid(["input", "text"], `A ${sub.type} text is at most ${max} characters`);
    return { text: sub.input.text };
  }
  if ("text" in sub.input) throw invalid(["input"], `A ${sub.type} job takes {base64, mediaType} or {url}`);
  let bytes: Uint8Array;
  let mediaType: string | undefined;
  if ("url" in sub.input) {
    const config = c.get("config");
    const fetched = await fetchUrlInput(
      sub.input.url,
      {
        maxBytes: JOB_LIMITS.maxInputBytes,
        timeoutMs: JOB_LIMITS.inputUrlTimeoutMs,
        maxRedirects: JOB_LIMITS.inputUrlMaxRedirects,
        allowPrivate: config.jobsInputUrlAllowPrivate,
      },
      { resolverUrl: config.netResolverUrl },
    );
    bytes = fetched.bytes;
    mediaType = sub.input.mediaType ?? fetched.mediaType;
    if (!mediaType) {
      throw invalid(["input", "mediaType"], "input.url gave no media type: name one with input.mediaType");
    }
  } else {
    mediaType = sub.input.mediaType;
    try {
      bytes = fromBase64(sub.input.base64);
    } catch {
      throw invalid(["input", "base64"], "input.base64 is not valid base64");
    }
  }
  if (bytes.byteLength > JOB_LIMITS.maxInputBytes) {
    throw new ApiError("payload_too_large", `A job's input is at most ${JOB_LIMITS.maxInputBytes} bytes`);
  }
  const accepted = acceptedMediaType(mediaType, bytes, spec.mediaTypes);
  if (!accepted) {
    throw new ApiError(
      "unsupported_media_type",
      `A ${sub.type} job accepts ${spec.mediaTypes.join(", ")}, not ${mediaType.toLowerCase()}`,
    );
  }
  const r2Key = jobInputKey(jobId);
  await c.env.FILES.put(r2Key, bytes, { httpMetadata: { contentType: accepted } });
  return { r2Key, mediaType: accepted, bytes: bytes.byteLength };
}

/** The board's spec for a validated submission. */
export function toJobSpec(id: string, owner: string, sub: JobSubmission, input: JobInputRef): JobSpec {
  return { id, owner, type: sub.type, input, options: sub.options };
}
