// Postgres errors arrive wrapped (drizzle's DrizzleQueryError around the driver's NeonDbError):
// find the SQLSTATE and constraint wherever they sit in the cause chain; and tell an outage from a bug.
interface PgErrorFields {
  code?: string;
  constraint?: string;
}

function pgError(err: unknown): PgErrorFields | undefined {
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    const fields = current as PgErrorFields & { cause?: unknown };
    if (typeof fields.code === "string" && /^[0-9A-Z]{5}$/.test(fields.code)) return fields;
    current = fields.cause;
  }
  return undefined;
}

export function isUniqueViolation(err: unknown): { constraint: string | undefined } | undefined {
  const fields = pgError(err);
  return fields?.code === "23505" ? { constraint: fields.constraint } : undefined;
}

/**
 * A write that names a row that is gone (23503): a user deleted while another isolate still believed the session
 * (src/lib/identity/live-session-memory.ts), or a parent removed by a concurrent request. A 409, never a 500.
 */
export function isForeignKeyViolation(err: unknown): boolean {
  return pgError(err)?.code === "23503";
}

/**
 * SQLSTATEs for a value Postgres cannot store as given: a NUL in text or jsonb (22P05, 22021) or nesting past its
 * stack (54001). Input validation refuses these first (src/lib/platform/validate.ts); this catches any path that
 * reaches the database without it, so the client still gets 400, not 500.
 */
const UNSTORABLE_STATES = /^(22P05|22021|54001)$/;

export function isUnstorableValue(err: unknown): boolean {
  const code = pgError(err)?.code;
  return code !== undefined && UNSTORABLE_STATES.test(code);
}

/** The database could not be reached or did not answer in time (src/lib/db/client.ts's databaseFetch). */
export class DatabaseUnavailableError extends Error {
  constructor(what: string, cause?: unknown) {
    super(`the database ${what}`, { cause });
    this.name = "DatabaseUnavailableError";
  }
}

/**
 * SQLSTATEs that mean "not now" rather than "wrong": connection exceptions (class 08), too many connections (53300),
 * the server shutting down or starting (57P01-57P03), and the dev bridge's lock wait (55P03).
 */
const UNAVAILABLE_STATES = /^(08...|53300|57P0[123]|55P03)$/;

/**
 * Whether `err` means the database is down or too slow: an outage (503 with Retry-After), not a bug (500). Looks
 * through drizzle's and the driver's wrapping (`cause`, the driver's `sourceError`). Answers a short reason fit for
 * a log line (never the query, its parameters or the connection string), or undefined.
 */
export function databaseOutage(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; current && depth < 6; depth++) {
    if (current instanceof DatabaseUnavailableError) return current.message;
    const fields = current as { code?: unknown; name?: unknown; cause?: unknown; sourceError?: unknown };
    if (typeof fields.code === "string" && UNAVAILABLE_STATES.test(fields.code)) return `SQLSTATE ${fields.code}`;
    if (fields.name === "TimeoutError") return "the database timed out";
    current = fields.sourceError ?? fields.cause;
  }
  return undefined;
}
