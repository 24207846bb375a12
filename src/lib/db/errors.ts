// Postgres errors arrive wrapped (drizzle's DrizzleQueryError around the driver's NeonDbError):
// find the SQLSTATE and constraint wherever they sit in the cause chain.
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
