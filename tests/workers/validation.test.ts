// The validation layer every service uses, exercised through a gateway built by the same factory.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createGateway } from "../../src/lib/platform/app";
import { ApiError } from "../../src/lib/platform/errors";
import { ApiRouter } from "../../src/lib/platform/router";
import type { ErrorJson } from "./support";

const echo = new ApiRouter("test")
  .route(
    {
      method: "post",
      path: "/things/:id",
      auth: "public",
      summary: "Echo a thing",
      params: z.object({ id: z.string().regex(/^\d+$/) }),
      query: z.object({ dryRun: z.enum(["true", "false"]).optional() }),
      body: z.object({ name: z.string().min(1).max(20), count: z.number().int().nonnegative() }).strict(),
      bodyLimit: 256,
      responses: { 200: { description: "The thing" } },
    },
    (c, { params, query, body }) => c.json({ id: params.id, dryRun: query.dryRun ?? null, ...body }),
  )
  .route({ method: "get", path: "/boom", summary: "Fails", auth: "public", responses: {} }, () => {
    throw new Error("secret internal detail");
  })
  .route({ method: "get", path: "/teapot", summary: "Fails on purpose", auth: "public", responses: {} }, () => {
    throw new ApiError("conflict", "Already there", { headers: { "Retry-After": "3" } });
  });

const app = createGateway({ title: "t", version: "0", description: "" }, [{ prefix: "/v1", router: echo }]);
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
const post = (
  body: BodyInit | null,
  headers: Record<string, string> = { "content-type": "application/json" },
  path = "/v1/things/7",
) => app.fetch(new Request(`https://t.test${path}`, { method: "POST", body, headers }), env, ctx);

describe("JSON bodies", () => {
  it("passes a valid body, path and query to the handler", async () => {
    const res = await post(
      JSON.stringify({ name: "a", count: 2 }),
      { "content-type": "application/json; charset=utf-8" },
      "/v1/things/7?dryRun=true",
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: "7", dryRun: "true", name: "a", count: 2 });
  });

  it("answers malformed JSON with 400 and the parser's complaint", async () => {
    const res = await post('{"name": "a",');
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.issues?.[0]?.code).toBe("invalid_json");
    expect(body.error.issues?.[0]?.message).toMatch(/JSON/);
  });

  it("answers another media type with 415", async () => {
    const res = await post("name=a", { "content-type": "application/x-www-form-urlencoded" });
    expect(res.status).toBe(415);
    expect(((await res.json()) as ErrorJson).error.code).toBe("unsupported_media_type");
  });

  it("answers a missing content type with 415", async () => {
    const res = await post(JSON.stringify({ name: "a", count: 1 }), {});
    expect(res.status).toBe(415);
  });

  it("answers a body declared larger than the limit with 413 without reading it", async () => {
    const res = await post(JSON.stringify({ name: "x".repeat(300), count: 1 }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorJson).error.code).toBe("payload_too_large");
  });

  it("answers a streamed body that grows past the limit with 413", async () => {
    const chunks = ['{"name":"', "y".repeat(200), "z".repeat(200), '","count":1}'];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await app.fetch(
      new Request("https://t.test/v1/things/7", {
        method: "POST",
        body: stream,
        headers: { "content-type": "application/json" },
        duplex: "half",
      } as RequestInit),
      env,
      ctx,
    );
    expect(res.status).toBe(413);
  });

  it("lists every schema problem with its location", async () => {
    const res = await post(JSON.stringify({ name: "", count: -1, extra: true }));
    expect(res.status).toBe(400);
    const issues = ((await res.json()) as ErrorJson).error.issues ?? [];
    const paths = issues.map((i) => i.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["body.name", "body.count", "body"]));
  });

  it("rejects invalid UTF-8", async () => {
    const res = await post(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorJson).error.issues?.[0]?.code).toBe("invalid_encoding");
  });

  it("validates path and query parameters", async () => {
    const badPath = await post(JSON.stringify({ name: "a", count: 1 }), undefined, "/v1/things/abc");
    expect(badPath.status).toBe(400);
    expect(((await badPath.json()) as ErrorJson).error.issues?.[0]?.path).toEqual(["path", "id"]);
    const badQuery = await post(JSON.stringify({ name: "a", count: 1 }), undefined, "/v1/things/1?dryRun=maybe");
    expect(badQuery.status).toBe(400);
    expect(((await badQuery.json()) as ErrorJson).error.issues?.[0]?.path).toEqual(["query", "dryRun"]);
  });
});

describe("errors", () => {
  it("turns an unknown error into 500 internal without its message", async () => {
    const res = await app.fetch(new Request("https://t.test/v1/boom"), env, ctx);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("secret internal detail");
    expect(JSON.parse(text)).toEqual({
      error: { code: "internal", message: "Internal error", requestId: expect.any(String) },
    });
  });

  it("keeps an ApiError's status and headers", async () => {
    const res = await app.fetch(new Request("https://t.test/v1/teapot"), env, ctx);
    expect(res.status).toBe(409);
    expect(res.headers.get("retry-after")).toBe("3");
  });

  it("describes the test routes in the generated document with their parameters", async () => {
    const res = await app.fetch(new Request("https://t.test/openapi.json"), env, ctx);
    const doc = (await res.json()) as {
      paths: Record<
        string,
        Record<string, { parameters: { name: string; in: string; required: boolean }[]; requestBody: unknown }>
      >;
    };
    const op = doc.paths["/v1/things/{id}"]?.post;
    expect(op?.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "id", in: "path", required: true }),
        expect.objectContaining({ name: "dryRun", in: "query", required: false }),
      ]),
    );
    expect(op?.requestBody).toBeDefined();
  });
});
