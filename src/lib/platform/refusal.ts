// How a Durable Object says no (docs/architecture.md "Contracts"). An error thrown inside an object crosses RPC as a
// bare 500 with its class lost, so an expected refusal is a value instead: `{ok: false, error, message}` with `error`
// an ErrorCode, and the caller turns it into the API's error with `unwrap`, the same way on every route.
import { ApiError, type ErrorCode, errorBody, type Issue } from "./errors";

/** An object's refusal: the API error it becomes, and how long to wait before trying again where that helps. */
interface Refusal {
  ok: false;
  error: ErrorCode;
  message: string;
  /** Seconds, for `Retry-After` (429 and 503 refusals). */
  retryAfter?: number;
  /** Which part of the input was wrong, as in a 400's `issues`. */
  issues?: Issue[];
}

/** What an object method that can refuse answers. */
export type Refusable<T> = { ok: true; value: T } | Refusal;

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function refuse(
  error: ErrorCode,
  message: string,
  options: { retryAfter?: number; issues?: Issue[] } = {},
): Refusal {
  return { ok: false, error, message, ...options };
}

/** The refusal as the API's error: its code fixes the status, `retryAfter` becomes `Retry-After`. */
function refusalError(refusal: Refusal): ApiError {
  const headers = refusal.retryAfter === undefined ? undefined : { "Retry-After": String(refusal.retryAfter) };
  return new ApiError(refusal.error, refusal.message, { headers, issues: refusal.issues });
}

/** The value of an object's answer, or its refusal thrown as an ApiError. */
export function unwrap<T>(result: Refusable<T>): T {
  if (result.ok) return result.value;
  throw refusalError(result);
}

/** The refusal as an HTTP response, for an object's own fetch (a WebSocket upgrade the Worker forwards as it is). */
export function refusalResponse(refusal: Refusal, requestId: string): Response {
  const error = refusalError(refusal);
  return Response.json(errorBody(refusal.error, refusal.message, requestId, refusal.issues), {
    status: error.status,
    headers: error.headers,
  });
}
