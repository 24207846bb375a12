// The summary over Workers Analytics Engine's SQL API (src/lib/analytics/engine-reader.ts) against a local server
// that speaks the API's protocol: a POSTed SQL text with a bearer token, answered with `FORMAT JSON`'s
// {meta, data, rows} (64-bit integers as strings, times as "YYYY-MM-DD HH:MM:SS" UTC). It checks what is asked (the
// dataset, the window, the user's slice, sample weighting) and that the answer becomes the same Summary shape the
// Postgres reader gives.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REQUEST_INDEX, summarizeFromEngine } from "../../src/lib/analytics/engine-reader";
import { Summary } from "../../src/lib/analytics/summary";
import { ApiError } from "../../src/lib/platform/errors";

const TOKEN = "ae-test-token";
let server: Server;
let url: string;
const seen: { auth: string | undefined; sql: string }[] = [];
let failWith: number | undefined;

/** Rows by the query's shape, as Analytics Engine would answer them. */
function answer(sql: string): Record<string, unknown>[] {
  if (sql.includes("toStartOfInterval")) {
    return [
      { t: "2026-12-07 05:00:00", requests: "7", errors: "1" },
      { t: "2026-12-07 05:01:00", requests: "3", errors: "0" },
    ];
  }
  if (sql.includes("AS method")) {
    return [{ method: "GET", route: "/v1/x/:id", requests: "10", errors: "1", p50: 3.456, p95: 9 }];
  }
  if (sql.includes("blob3 AS user")) return [{ user: "u1" }, { user: "u2" }];
  if (sql.includes("blob2 AS user")) return [{ user: "u2" }, { user: "u3" }];
  if (sql.includes("blob6 AS type")) {
    return [
      { name: "tessera.job.completed", type: "speech", n: "4", p50: 100, p95: 250 },
      { name: "tessera.job.dead", type: "speech", n: "1", p50: 900, p95: 900 },
      { name: "tessera.job.dead", type: "ocr", n: "2", p50: 5, p95: 5 },
    ];
  }
  if (sql.includes("NOT LIKE")) return [{ name: "doc.opened", count: "3", sum: 6 }];
  if (sql.includes("AS model")) return [{ model: "gpt-test", tokens: "120" }];
  throw new Error(`unexpected query: ${sql}`);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      seen.push({ auth: req.headers.authorization, sql: body });
      if (failWith) {
        res.writeHead(failWith, { "content-type": "application/json" });
        res.end(JSON.stringify({ errors: [{ message: "account 0123 query failed" }] }));
        return;
      }
      if (req.method !== "POST" || !body.trimEnd().endsWith("FORMAT JSON")) {
        res.writeHead(400);
        res.end("bad request");
        return;
      }
      const data = answer(body);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ meta: Object.keys(data[0] ?? {}).map((name) => ({ name })), data, rows: data.length }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/sql`;
});
afterAll(() => {
  server.close();
});

const window = {
  from: new Date("2026-12-07T05:00:00Z"),
  to: new Date("2026-12-07T06:00:00Z"),
  bucket: "minute" as const,
};

describe("the Analytics Engine summary reader", () => {
  it("asks the dataset over the window, weighted by the sample interval, and maps the answer to a Summary", async () => {
    seen.length = 0;
    const summary = await summarizeFromEngine({ sqlUrl: url, apiToken: TOKEN, dataset: "tessera_test" }, window);
    expect(Summary.parse(summary)).toEqual(summary);
    expect(summary).toMatchObject({
      scope: "all",
      requests: { total: 10, errors: 1, errorRate: 0.1 },
      series: [
        { t: "2026-12-07T05:00:00.000Z", requests: 7, errors: 1 },
        { t: "2026-12-07T05:01:00.000Z", requests: 3, errors: 0 },
      ],
      routes: [{ method: "GET", route: "/v1/x/:id", requests: 10, errorRate: 0.1, p50Ms: 3.46, p95Ms: 9 }],
      activeUsers: 3,
      events: [{ name: "doc.opened", count: 3, sum: 6 }],
      llmTokens: [{ model: "gpt-test", tokens: 120 }],
    });
    expect(summary.jobs).toEqual([
      { type: "speech", completed: 4, dead: 1, p50Ms: 100, p95Ms: 250 },
      { type: "ocr", completed: 0, dead: 2, p50Ms: null, p95Ms: null },
    ]);
    expect(seen).toHaveLength(7);
    for (const { auth, sql } of seen) {
      expect(auth).toBe(`Bearer ${TOKEN}`);
      expect(sql).toContain("FROM tessera_test");
      // Counts and sums are weighted; the distinct-user lists need no weight.
      if (!sql.includes("AS user")) expect(sql).toContain("_sample_interval");
      expect(sql).toMatch(/timestamp >= toDateTime\('2026-12-07 05:00:00'\)/);
      expect(sql).not.toMatch(/blob[23] = '/);
    }
    const requestQueries = seen.filter((q) => q.sql.includes(`index1 = '${REQUEST_INDEX}'`));
    expect(requestQueries).toHaveLength(3);
    for (const q of requestQueries) expect(q.sql).toContain(`double3 >= ${window.from.getTime()}`);
  });

  it("narrows every query to one user's slice", async () => {
    seen.length = 0;
    const userId = "5b1c9f4e-0000-4000-8000-000000000001";
    const summary = await summarizeFromEngine({ sqlUrl: url, apiToken: TOKEN, dataset: "tessera" }, window, userId);
    expect(summary.scope).toBe("user");
    for (const { sql } of seen) expect(sql).toMatch(new RegExp(`blob[23] = '${userId}'`));
  });

  it("refuses a filter value that could break out of its literal", async () => {
    const bad = summarizeFromEngine({ sqlUrl: url, apiToken: TOKEN, dataset: "tessera" }, window, "x' OR '1'='1");
    await expect(bad).rejects.toBeInstanceOf(ApiError);
  });

  it("answers 503 with Retry-After when the API fails, without passing its message on", async () => {
    failWith = 500;
    try {
      const err = await summarizeFromEngine({ sqlUrl: url, apiToken: TOKEN, dataset: "tessera" }, window).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe("unavailable");
      expect((err as ApiError).headers?.["Retry-After"]).toBeDefined();
      expect((err as ApiError).message).not.toContain("account");
    } finally {
      failWith = undefined;
    }
  });

  it("answers 503 when nothing answers at all", async () => {
    const dead = "http://127.0.0.1:9/sql";
    const err = await summarizeFromEngine({ sqlUrl: dead, apiToken: TOKEN, dataset: "tessera" }, window).catch(
      (e: unknown) => e,
    );
    expect((err as ApiError).code).toBe("unavailable");
  });
});
