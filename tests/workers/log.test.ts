// The structured logger: one JSON object per line, request lines batched per isolate (LOG_BATCH_LINES), warnings
// and errors at once and after what was batched, nothing lost when a request ends with a batch not yet full.
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { getConfig } from "../../src/lib/platform/env";
import { createLogger, flushLogs } from "../../src/lib/platform/log";

/** Every line console.log received, split out of batched calls, and the number of calls. */
function captureLog() {
  const calls: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((text: unknown) => {
    calls.push(String(text));
  });
  return {
    calls,
    lines: () => calls.flatMap((c) => c.split("\n")).map((l) => JSON.parse(l) as Record<string, unknown>),
    restore: () => spy.mockRestore(),
  };
}

afterEach(() => {
  flushLogs();
  vi.restoreAllMocks();
});

describe("createLogger", () => {
  it("writes each line at once by default, with time, level, message and fields", () => {
    const out = captureLog();
    createLogger("info", { requestId: "r1" }).info("hello", { n: 1, skipped: undefined });
    expect(out.calls).toHaveLength(1);
    const [line] = out.lines();
    expect(line).toEqual({ time: expect.any(String), level: "info", msg: "hello", requestId: "r1", n: 1 });
    expect(new Date(line?.time as string).toISOString()).toBe(line?.time);
  });

  it("drops lines under its level", () => {
    const out = captureLog();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const log = createLogger("warn");
    log.debug("no");
    log.info("no");
    log.warn("yes");
    expect(out.calls).toHaveLength(0);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it("batches debug and info lines into one console.log call per batchLines lines", () => {
    const out = captureLog();
    const log = createLogger("debug", {}, 4);
    for (let i = 0; i < 9; i++) log.info("line", { i });
    expect(out.calls).toHaveLength(2);
    expect(out.calls[0]?.split("\n")).toHaveLength(4);
    flushLogs();
    expect(out.calls).toHaveLength(3);
    expect(out.lines().map((l) => l.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("writes the batch before a warning or an error, so the order holds", () => {
    const order: string[] = [];
    vi.spyOn(console, "log").mockImplementation((text: unknown) => {
      order.push(
        ...String(text)
          .split("\n")
          .map((l) => (JSON.parse(l) as { msg: string }).msg),
      );
    });
    vi.spyOn(console, "error").mockImplementation((text: unknown) => {
      order.push((JSON.parse(String(text)) as { msg: string }).msg);
    });
    const log = createLogger("info", {}, 64);
    log.info("first");
    log.info("second");
    log.error("third");
    expect(order).toEqual(["first", "second", "third"]);
  });
});

describe("the access log", () => {
  it("logs one line per request with its id, batched, and writes a batch that is not full after the request", async () => {
    const config = getConfig(env);
    expect(config.logBatchLines).toBe(64);
    const out = captureLog();
    const log = createLogger("info", {}, config.logBatchLines);
    // The test runs at LOG_LEVEL=warn, so the request itself logs nothing; a batched line written here must still
    // go out when a request ends (the flush the request schedules), not wait for 63 more.
    log.info("pending");
    const res = await exports.default.fetch(
      new Request("https://tessera.test/", { headers: { "X-Request-Id": "acc-1" } }),
    );
    expect(res.status).toBe(200);
    for (let wait = 10; out.calls.length === 0 && wait < 5000; wait *= 2) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    expect(out.lines().map((l) => l.msg)).toEqual(["pending"]);
  });
});
