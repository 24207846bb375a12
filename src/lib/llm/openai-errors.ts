// Errors on the OpenAI-compatible routes: Tessera's one shape (src/lib/platform/errors.ts) plus OpenAI's `type`
// and `param`, so the official SDKs raise the right error class with the right fields.
import type { Context } from "hono";
import type { AppEnv } from "../platform/env";
import { ApiError, type ErrorCode, onError } from "../platform/errors";

const OPENAI_TYPE: Partial<Record<ErrorCode, string>> = {
  invalid_request: "invalid_request_error",
  payload_too_large: "invalid_request_error",
  unsupported_media_type: "invalid_request_error",
  unauthorized: "authentication_error",
  forbidden: "permission_error",
  not_found: "invalid_request_error",
  rate_limited: "rate_limit_error",
  budget_exceeded: "insufficient_quota",
  timeout: "timeout_error",
};

function openAiType(code: ErrorCode): string {
  return OPENAI_TYPE[code] ?? (code === "internal" ? "server_error" : "api_error");
}

/** The body field an error is about, in OpenAI's dotted form (`messages.0.content`), from the first issue. */
function openAiParam(err: ApiError): string | null {
  const path = err.issues?.[0]?.path;
  if (path?.[0] !== "body" || path.length < 2) return null;
  return path.slice(1).join(".");
}

/** The sub-app's error handler: the usual response, its body given `type` and `param`. */
export async function openAiOnError(err: Error, c: Context<AppEnv>): Promise<Response> {
  const res = onError(err, c);
  const body = (await res.json()) as { error: { code: ErrorCode } & Record<string, unknown> };
  body.error.type = openAiType(body.error.code);
  body.error.param = err instanceof ApiError ? openAiParam(err) : null;
  return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
}
