// Neon's SQL-over-HTTP protocol, as @neondatabase/serverless 1.2 speaks it (index.mjs, `neon()`):
// POST {query, params} or {queries: [...]}, options in Neon-* headers, values as Postgres text
// (the driver parses them), rows as arrays. A Postgres error is HTTP 400 with the error's fields
// at the top level; the driver copies `message` and the names in its `errorFields` list.
import type { IncomingMessage, ServerResponse } from "node:http";
import pg from "pg";
import type { Backend } from "./backend";
import { LockTimeoutError } from "./lock";

interface SqlHandlerOptions {
  maxBodyBytes: number;
  log: (line: string) => void;
}

interface SqlQuery {
  query: string;
  params: unknown[];
}

type SqlRequest = { batch: false; query: SqlQuery } | { batch: true; queries: SqlQuery[] };

interface Flags {
  rawText: boolean;
  arrayMode: boolean;
}

/** The field names a client of Neon's HTTP API reads (pg's FieldDef, minus nothing). */
interface NeonField {
  name: string;
  dataTypeID: number;
  tableID: number;
  columnID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
  format: string;
}

interface NeonResult {
  fields: NeonField[];
  command: string | null;
  rowCount: number | null;
  rows: unknown[][] | Record<string, unknown>[];
  rowAsArray: boolean;
}

/** Postgres error fields the driver copies onto its NeonDbError (its `errorFields`). */
const ERROR_FIELDS = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

const ISOLATION_LEVELS: Record<string, string> = {
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
  Serializable: "SERIALIZABLE",
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Every value stays the text Postgres sent; the driver applies its own (overridable) parsers. */
const rawTextTypes: pg.CustomTypesConfig = { getTypeParser: () => (value: string) => value };

/** pg's query config plus `queryMode`, which pg 8.23 honours but @types/pg does not declare. */
interface ExtendedQueryConfig extends pg.QueryArrayConfig {
  queryMode: "extended";
}

export async function handleSql(
  req: IncomingMessage,
  res: ServerResponse,
  backend: Backend,
  opts: SqlHandlerOptions,
): Promise<void> {
  try {
    if (req.method !== "POST") throw new HttpError(405, "db-bridge: /sql accepts POST only");
    const request = parseRequest(await readBody(req, opts.maxBodyBytes));
    const flags: Flags = {
      rawText: header(req, "neon-raw-text-output") === "true",
      arrayMode: header(req, "neon-array-mode") === "true",
    };
    const begin = request.batch ? beginStatement(req) : "";
    const body = await backend.withClient(async (client) => {
      if (!request.batch) return runQuery(client, request.query, flags);
      await client.query(begin);
      try {
        const results: NeonResult[] = [];
        for (const query of request.queries) results.push(await runQuery(client, query, flags));
        await client.query("COMMIT");
        return { results };
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      }
    });
    send(res, 200, body);
  } catch (error) {
    sendError(res, error, opts.log);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume(); // drain the rest unread so the 413 can still be sent
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

const tooLarge = (limit: number) => new HttpError(413, `db-bridge: request body is larger than ${limit} bytes`);

function parseRequest(raw: Buffer): SqlRequest {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch (error) {
    throw new HttpError(400, `db-bridge: request body is not valid JSON (${(error as Error).message})`, "08P01");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "db-bridge: request body must be a JSON object with `query` or `queries`", "08P01");
  }
  const record = body as Record<string, unknown>;
  if (Array.isArray(record.queries)) {
    return { batch: true, queries: record.queries.map((q, i) => parseQuery(q, `queries[${i}]`)) };
  }
  return { batch: false, query: parseQuery(record, "body") };
}

function parseQuery(value: unknown, where: string): SqlQuery {
  if (typeof value !== "object" || value === null) {
    throw new HttpError(400, `db-bridge: ${where} must be an object with a string \`query\``, "08P01");
  }
  const { query, params } = value as { query?: unknown; params?: unknown };
  if (typeof query !== "string") throw new HttpError(400, `db-bridge: ${where}.query must be a string`, "08P01");
  if (params !== undefined && params !== null && !Array.isArray(params)) {
    throw new HttpError(400, `db-bridge: ${where}.params must be an array`, "08P01");
  }
  return { query, params: Array.isArray(params) ? params : [] };
}

/** The driver sends these headers only with `transaction()`; values as its TypeScript types name them. */
function beginStatement(req: IncomingMessage): string {
  const parts = ["BEGIN"];
  const isolation = header(req, "neon-batch-isolation-level");
  if (isolation !== undefined) {
    const level = ISOLATION_LEVELS[isolation];
    if (!level) throw new HttpError(400, `db-bridge: unknown Neon-Batch-Isolation-Level ${isolation}`, "08P01");
    parts.push("ISOLATION LEVEL", level);
  }
  const readOnly = header(req, "neon-batch-read-only");
  if (readOnly !== undefined) parts.push(boolHeader("Neon-Batch-Read-Only", readOnly, "READ ONLY", "READ WRITE"));
  const deferrable = header(req, "neon-batch-deferrable");
  if (deferrable !== undefined) {
    parts.push(boolHeader("Neon-Batch-Deferrable", deferrable, "DEFERRABLE", "NOT DEFERRABLE"));
  }
  return parts.join(" ");
}

function boolHeader(name: string, value: string, whenTrue: string, whenFalse: string): string {
  if (value === "true") return whenTrue;
  if (value === "false") return whenFalse;
  throw new HttpError(400, `db-bridge: ${name} must be true or false, not ${value}`, "08P01");
}

async function runQuery(client: pg.PoolClient, q: SqlQuery, flags: Flags): Promise<NeonResult> {
  const config: ExtendedQueryConfig = {
    text: q.query,
    values: q.params,
    rowMode: "array",
    // Always the extended protocol, as Neon: one statement per query, and the same plan path with
    // or without parameters (pg would otherwise send a parameterless query as a simple Query).
    queryMode: "extended",
    ...(flags.rawText ? { types: rawTextTypes } : {}),
  };
  const result = await client.query(config);
  const fields: NeonField[] = result.fields.map((f) => ({
    name: f.name,
    dataTypeID: f.dataTypeID,
    tableID: f.tableID,
    columnID: f.columnID,
    dataTypeSize: f.dataTypeSize,
    dataTypeModifier: f.dataTypeModifier,
    format: f.format,
  }));
  const arrays = flags.rawText ? result.rows : result.rows.map((row) => row.map(jsonSafe));
  const rows = flags.arrayMode
    ? arrays
    : arrays.map((row) => Object.fromEntries(fields.map((f, i) => [f.name, row[i] ?? null])));
  return {
    fields,
    command: result.command ?? null,
    rowCount: result.rowCount ?? null,
    rows,
    rowAsArray: flags.arrayMode,
  };
}

/** Without raw text, pg's parsers run here; bytea must stay Postgres's hex text, not a JSON'd Buffer. */
function jsonSafe(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return `\\x${value.toString("hex")}`;
  return value;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}

function sendError(res: ServerResponse, error: unknown, log: (line: string) => void): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof pg.DatabaseError) {
    const body: Record<string, unknown> = { message: error.message };
    for (const field of ERROR_FIELDS) if (error[field] !== undefined) body[field] = error[field];
    send(res, 400, body);
    return;
  }
  if (error instanceof LockTimeoutError) {
    send(res, 400, { message: error.message, code: error.code, severity: "ERROR" });
    return;
  }
  if (error instanceof HttpError) {
    if (error.status === 413) res.setHeader("connection", "close");
    send(res, error.status, { message: error.message, ...(error.code ? { code: error.code } : {}) });
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  log(`/sql failed: ${message}`);
  send(res, 500, { message: `db-bridge: ${message}` });
}
