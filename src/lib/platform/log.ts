// Structured JSON logs: one object per line, always with the request id when there is one.
// Lines at debug and info are batched per isolate: workerd's console.log costs about as much CPU as a bare
// request (docs/benchmarks.md), so up to LOG_BATCH_LINES lines go out in one console.log call, joined by
// newlines, at most LOG_FLUSH_MS after the first of them. Warnings and errors go out at once, after the batch.
import type { Context } from "hono";
import type { AppEnv } from "./env";

export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** The longest a batched line waits for its console.log call. */
const LOG_FLUSH_MS = 100;

let batch: string[] = [];
let flushScheduled = false;

/** Writes the batched lines now (one console.log call). */
export function flushLogs(): void {
  flushScheduled = false;
  if (batch.length === 0) return;
  const lines = batch;
  batch = [];
  console.log(lines.join("\n"));
}

/**
 * Called at the end of each request: a batch that is not full goes out within LOG_FLUSH_MS, on a timer the
 * request's waitUntil keeps alive; without an execution context (tests calling the app directly) it goes out now.
 */
export function scheduleLogFlush(c: Context<AppEnv>): void {
  if (batch.length === 0 || flushScheduled) return;
  let ctx: Context<AppEnv>["executionCtx"];
  try {
    ctx = c.executionCtx;
  } catch {
    flushLogs();
    return;
  }
  flushScheduled = true;
  ctx.waitUntil(new Promise<void>((resolve) => setTimeout(resolve, LOG_FLUSH_MS)).then(flushLogs));
}

// workerd's clock only moves between I/O, so many lines share one millisecond and its ISO string.
let isoAt = Number.NaN;
let iso = "";
function now(): string {
  const ms = Date.now();
  if (ms !== isoAt) {
    isoAt = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

class JsonLogger implements Logger {
  constructor(
    private readonly min: number,
    private readonly base: LogFields,
    /** Lines per console.log call for debug and info (1: every line on its own). */
    private readonly batchLines: number,
  ) {}

  private line(level: LogLevel, msg: string, fields: LogFields | undefined): string {
    return JSON.stringify({ time: now(), level, msg, ...this.base, ...fields });
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.min <= RANK.debug) this.quiet(this.line("debug", msg, fields));
  }
  info(msg: string, fields?: LogFields): void {
    if (this.min <= RANK.info) this.quiet(this.line("info", msg, fields));
  }
  warn(msg: string, fields?: LogFields): void {
    if (this.min > RANK.warn) return;
    flushLogs();
    console.warn(this.line("warn", msg, fields));
  }
  error(msg: string, fields?: LogFields): void {
    flushLogs();
    console.error(this.line("error", msg, fields));
  }

  private quiet(line: string): void {
    if (this.batchLines <= 1) {
      flushLogs();
      console.log(line);
      return;
    }
    batch.push(line);
    if (batch.length >= this.batchLines) flushLogs();
  }
}

/**
 * A logger at `minLevel` whose lines carry `base`. `batchLines` > 1 batches its debug and info lines (the
 * request logger; the request must end with scheduleLogFlush); the default writes each line at once.
 */
export function createLogger(minLevel: LogLevel, base: LogFields = {}, batchLines = 1): Logger {
  return new JsonLogger(RANK[minLevel], base, batchLines);
}

/** The request's logger (set by the request-id middleware), or a bare one outside a request. */
export function logger(c: Context<AppEnv>): Logger {
  return c.get("log") ?? createLogger("info");
}
