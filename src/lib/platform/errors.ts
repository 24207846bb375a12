// The one error shape (docs/architecture.md "Contracts"): every non-2xx JSON body is built here and nowhere else.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { databaseOutage, isForeignKeyViolation, isUnstorableValue } from "../db/errors";
import type { AppEnv } from "./env";
import { logger } from "./log";

const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  unprocessable: 422,
  precondition_required: 428,
  // Before rate_limited, so a bare 429 from Hono still maps to rate_limited (the later entry wins in STATUS_TO_CODE).
  budget_exceeded: 429,
  rate_limited: 429,
  internal: 500,
  upstream_error: 502,
  unavailable: 503,
  timeout: 504,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** One problem with the input: where it is, a machine code, and words for a person. */
export interface Issue {
  path: (string | number)[];
  code: string;
  message: string;
}

interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string; issues?: Issue[] };
}

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: ContentfulStatusCode;
  readonly issues: Issue[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { issues?: Issue[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "ApiError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.issues = options.issues;
    this.headers = options.headers;
  }
}

export function errorBody(code: ErrorCode, message: string, requestId: string, issues?: Issue[]): ErrorBody {
  return { error: issues?.length ? { code, message, requestId, issues } : { code, message, requestId } };
}

const STATUS_TO_CODE = new Map<number, ErrorCode>(
  Object.entries(ERROR_STATUS).map(([code, status]) => [status, code as ErrorCode]),
);

/** Hono's own middlewares throw HTTPException; map them onto our codes so their bodies keep the one shape. */
function fromHttpException(err: HTTPException): ApiError {
  const code = STATUS_TO_CODE.get(err.status) ?? (err.status >= 500 ? "internal" : "invalid_request");
  return new ApiError(code, err.message || code.replaceAll("_", " "));
}

export function errorResponse(c: Context<AppEnv>, err: ApiError): Response {
  const body = errorBody(err.code, err.message, c.get("requestId") ?? "", err.issues);
  // Through the context, so they replace any the request set on its way (e.g. an earlier RateLimit-Remaining).
  if (err.headers) for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
  return c.json(body, err.status);
}

export function onError(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof ApiError) return errorResponse(c, err);
  if (err instanceof HTTPException) return errorResponse(c, fromHttpException(err));
  const outage = databaseOutage(err);
  if (outage) {
    // An outage, not a bug: the client may retry (docs/operations.md). Only the reason is logged, never the query.
    logger(c).warn("database unavailable", { reason: outage });
    return errorResponse(c, databaseUnavailable());
  }
  if (isUnstorableValue(err)) {
    return errorResponse(c, new ApiError("invalid_request", "The request holds a value that cannot be stored"));
  }
  if (isForeignKeyViolation(err)) {
    return errorResponse(c, new ApiError("conflict", "The request refers to something that no longer exists"));
  }
  // Unknown errors are a bug or an outage: log everything, tell the client nothing internal.
  logger(c).error("unhandled error", { error: err.message, name: err.name, stack: err.stack });
  return errorResponse(c, new ApiError("internal", "Internal error"));
}

/** Seconds a client should wait before retrying while the database is unreachable. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

function databaseUnavailable(): ApiError {
  return new ApiError("unavailable", "The database is unavailable; retry shortly", {
    headers: { "Retry-After": String(DATABASE_RETRY_AFTER_SECONDS) },
  });
}
