// A closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its next request as soon as
// the previous response is complete. It speaks HTTP over plain sockets (Node 20 has no built-in undici
// module, and node:http's client costs several times more CPU per request, which on a 2-core machine is CPU
// taken from the server being measured). Loopback only, bounded in connections, time and count.
import { connect, type Socket } from "node:net";

export interface LoadOptions {
  /** http://127.0.0.1:PORT/path (loopback only). */
  url: string;
  method?: "GET" | "HEAD" | "POST" | "PUT" | "DELETE";
  headers?: Record<string, string>;
  body?: string;
  /** Keep-alive connections (closed loop: one request in flight on each). */
  connections: number;
  /** Measured window; the run stops at whichever of durationMs and requests comes first. */
  durationMs?: number;
  requests?: number;
  /** Traffic before the measured window, not counted (connections, JIT, caches). */
  warmupMs?: number;
  /** A response slower than this counts as an error and its connection is replaced. */
  timeoutMs?: number;
  /** Called synchronously at the start and end of the measured window (for server CPU snapshots). */
  onMeasureStart?: () => void;
  onMeasureEnd?: () => void;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  /** Responses completed inside the measured window. */
  requests: number;
  /** 2xx among them. */
  ok: number;
  non2xx: number;
  /** Connection failures, resets, malformed responses and timeouts. */
  errors: number;
  statuses: Record<string, number>;
  durationMs: number;
  rps: number;
  /** Milliseconds, from writing the request to parsing the end of its response. */
  latencyMs: LatencySummary;
  /** CPU time of this Node process over the measured window (user + system), ms. */
  clientCpuMs: number;
  firstError?: string;
}

export const LIMITS = { maxConnections: 1024, maxDurationMs: 120_000, maxRequests: 10_000_000 } as const;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);
const CRLFCRLF = Buffer.from("\r\n\r\n");

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export function summarize(latencies: Float64Array): LatencySummary {
  const sorted = latencies.slice().sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** Growable Float64Array: 5 s at 20k req/s is 100k samples; no per-sample allocation. */
class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

interface Parsed {
  status: number;
  /** Bytes consumed by this response, or 0 when it is not complete yet. */
  consumed: number;
  close: boolean;
}

/** Finds the end of one complete response at the start of `buf`; consumed 0 means "need more bytes". */
function parseResponse(buf: Buffer, head: boolean): Parsed | Error {
  const headerEnd = buf.indexOf(CRLFCRLF);
  if (headerEnd < 0) {
    if (buf.length > 64 * 1024) return new Error("response headers over 64 KiB");
    return { status: 0, consumed: 0, close: false };
  }
  const headerText = buf.toString("latin1", 0, headerEnd);
  if (!headerText.startsWith("HTTP/1.")) return new Error(`not an HTTP/1.x response: ${headerText.slice(0, 40)}`);
  const status = Number(headerText.slice(9, 12));
  let contentLength = -1;
  let chunked = false;
  let close = headerText.startsWith("HTTP/1.0");
  for (const line of headerText.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line
      .slice(colon + 1)
      .trim()
      .toLowerCase();
    if (name === "content-length") contentLength = Number(value);
    else if (name === "transfer-encoding") chunked = value.includes("chunked");
    else if (name === "connection") close = value.includes("close");
  }
  const bodyStart = headerEnd + 4;
  if (head || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    return { status, consumed: bodyStart, close };
  }
  if (chunked) {
    let pos = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf("\r\n", pos, "latin1");
      if (lineEnd < 0) return { status, consumed: 0, close };
      const size = Number.parseInt(buf.toString("latin1", pos, lineEnd), 16);
      if (Number.isNaN(size)) return new Error("bad chunk size");
      if (size === 0) {
        // Trailers (rare) end with an empty line.
        const end = buf.indexOf("\r\n", lineEnd + 2, "latin1");
        if (end < 0) return { status, consumed: 0, close };
        if (end === lineEnd + 2) return { status, consumed: end + 2, close };
        const trailersEnd = buf.indexOf(CRLFCRLF, lineEnd);
        return trailersEnd < 0 ? { status, consumed: 0, close } : { status, consumed: trailersEnd + 4, close };
      }
      pos = lineEnd + 2 + size + 2;
      if (pos > buf.length) return { status, consumed: 0, close };
    }
  }
  if (contentLength >= 0) {
    const end = bodyStart + contentLength;
    return end <= buf.length ? { status, consumed: end, close } : { status, consumed: 0, close };
  }
  // No length: the body runs until the server closes; this generator does not support that.
  return new Error("response without Content-Length or chunked encoding");
}

export function assertLoopback(url: URL): void {
  if (url.protocol !== "http:") throw new Error(`load: only http:// is supported, got ${url.protocol}`);
  if (!LOOPBACK.has(url.hostname)) throw new Error(`load: loopback targets only, got ${url.hostname}`);
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const url = new URL(opts.url);
  assertLoopback(url);
  const connections = opts.connections;
  if (!Number.isInteger(connections) || connections < 1 || connections > LIMITS.maxConnections) {
    throw new Error(`load: connections must be 1..${LIMITS.maxConnections}`);
  }
  if (opts.durationMs === undefined && opts.requests === undefined) throw new Error("load: set durationMs or requests");
  const durationMs = Math.min(opts.durationMs ?? LIMITS.maxDurationMs, LIMITS.maxDurationMs);
  const maxRequests = Math.min(opts.requests ?? LIMITS.maxRequests, LIMITS.maxRequests);
  const warmupMs = Math.max(0, Math.min(opts.warmupMs ?? 0, 60_000));
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const method = opts.method ?? "GET";
  const head = method === "HEAD";
  const port = Number(url.port || 80);
  const host = url.hostname.replace(/^\[|\]$/g, "");

  const headerLines = [
    `${method} ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    "Connection: keep-alive",
  ];
  for (const [k, v] of Object.entries(opts.headers ?? {})) headerLines.push(`${k}: ${v}`);
  if (opts.body !== undefined) headerLines.push(`Content-Length: ${Buffer.byteLength(opts.body)}`);
  const request = Buffer.from(`${headerLines.join("\r\n")}\r\n\r\n${opts.body ?? ""}`);

  // Phases: warm-up (nothing counted) → measuring → draining (stop sending, wait for in-flight).
  let phase: "warmup" | "measuring" | "draining" = warmupMs > 0 ? "warmup" : "measuring";
  const latencies = new Samples();
  const statuses: Record<string, number> = {};
  let requests = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  let measureStartedAt = 0;
  let measureEndedAt = 0;
  let cpuAtStart: NodeJS.CpuUsage = process.cpuUsage();
  let cpuDelta: NodeJS.CpuUsage = { user: 0, system: 0 };
  let consecutiveErrors = 0;

  let finishMeasuring: () => void = () => {};
  const measured = new Promise<void>((r) => {
    finishMeasuring = r;
  });
  let inFlight = 0;
  let drained: () => void = () => {};
  const allDrained = new Promise<void>((r) => {
    drained = r;
  });
  const sockets = new Set<Socket>();

  const endMeasuring = () => {
    if (phase !== "measuring") return;
    phase = "draining";
    measureEndedAt = performance.now();
    cpuDelta = process.cpuUsage(cpuAtStart);
    opts.onMeasureEnd?.();
    finishMeasuring();
    if (inFlight === 0) drained();
  };
  const startMeasuring = () => {
    phase = "measuring";
    measureStartedAt = performance.now();
    cpuAtStart = process.cpuUsage();
    opts.onMeasureStart?.();
  };

  const recordError = (message: string) => {
    consecutiveErrors++;
    if (phase === "measuring") {
      errors++;
      firstError ??= message;
    }
  };

  const openConnection = () => {
    if (phase === "draining") return;
    const socket = connect({ host, port, noDelay: true });
    sockets.add(socket);
    let pending: Buffer | null = null;
    let sentAt = 0;
    let busy = false;
    let timer: NodeJS.Timeout | undefined;
    let done = false;

    const finish = (reconnect: boolean) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (busy) {
        busy = false;
        inFlight--;
      }
      sockets.delete(socket);
      socket.destroy();
      if (phase === "draining") {
        if (inFlight === 0) drained();
        return;
      }
      if (reconnect) {
        // Back off when the server keeps refusing, so a dead target costs no CPU spin.
        const delay = consecutiveErrors > 3 ? Math.min(100, consecutiveErrors) : 0;
        setTimeout(openConnection, delay);
      }
    };
    const send = () => {
      if (phase === "draining" || requests >= maxRequests) {
        finish(false);
        return;
      }
      busy = true;
      inFlight++;
      sentAt = performance.now();
      timer = setTimeout(() => {
        recordError(`timeout after ${timeoutMs} ms`);
        finish(true);
      }, timeoutMs);
      socket.write(request);
    };
    socket.on("connect", send);
    socket.on("data", (chunk: Buffer) => {
      pending = pending ? Buffer.concat([pending, chunk]) : chunk;
      const parsed = parseResponse(pending, head);
      if (parsed instanceof Error) {
        recordError(parsed.message);
        finish(true);
        return;
      }
      if (parsed.consumed === 0) return;
      const latency = performance.now() - sentAt;
      pending = parsed.consumed < pending.length ? pending.subarray(parsed.consumed) : null;
      if (timer) clearTimeout(timer);
      busy = false;
      inFlight--;
      consecutiveErrors = 0;
      if (phase === "measuring") {
        requests++;
        latencies.push(latency);
        const key = String(parsed.status);
        statuses[key] = (statuses[key] ?? 0) + 1;
        if (parsed.status >= 200 && parsed.status < 300) ok++;
        if (requests >= maxRequests) endMeasuring();
      } else if (phase === "draining") {
        if (inFlight === 0) drained();
        finish(false);
        return;
      }
      if (parsed.close) finish(true);
      else send();
    });
    socket.on("error", (err) => {
      recordError(err.message);
      finish(true);
    });
    socket.on("close", () => {
      if (!done) {
        if (busy) recordError("connection closed before the response ended");
        finish(true);
      }
    });
  };

  const warmupTimer = warmupMs > 0 ? setTimeout(startMeasuring, warmupMs) : undefined;
  if (phase === "measuring") startMeasuring();
  const deadline = setTimeout(
    () => {
      if (phase === "warmup") startMeasuring();
      endMeasuring();
    },
    warmupMs + (opts.durationMs === undefined ? LIMITS.maxDurationMs : durationMs),
  );
  for (let i = 0; i < connections; i++) openConnection();

  await measured;
  clearTimeout(deadline);
  if (warmupTimer) clearTimeout(warmupTimer);
  // In-flight responses finish uncounted; a server that stopped answering is cut off after the timeout.
  await Promise.race([allDrained, new Promise((r) => setTimeout(r, timeoutMs))]);
  for (const socket of sockets) socket.destroy();
  sockets.clear();

  const elapsed = measureEndedAt - measureStartedAt;
  return {
    requests,
    ok,
    non2xx: requests - ok,
    errors,
    statuses,
    durationMs: elapsed,
    rps: elapsed > 0 ? (requests / elapsed) * 1000 : 0,
    latencyMs: summarize(latencies.values()),
    clientCpuMs: (cpuDelta.user + cpuDelta.system) / 1000,
    ...(firstError ? { firstError } : {}),
  };
}
