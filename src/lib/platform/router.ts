// A service's routes, declared once: the same declaration registers the Hono handler,
// validates its input and describes it in the OpenAPI document.
import { type Context, Hono } from "hono";
import type { z } from "zod";
import { type Access, authorize } from "../identity/auth";
import type { AppEnv } from "./env";
import { ApiError } from "./errors";
import { enforceRequestLimit } from "./rate-limit";
import { withTimeout } from "./timeout";
import { isMultipart, parseInput, readFormBody, readJsonBody } from "./validate";

export type Method = "get" | "post" | "put" | "patch" | "delete";

interface ResponseSpec {
  description: string;
  /** JSON body schema; omit for empty or non-JSON bodies. */
  schema?: z.ZodType;
  /** Media type when the body is not JSON (e.g. "text/html"). */
  contentType?: string;
}

interface RouteSpec<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
> {
  method: Method;
  /** Hono path relative to the router's mount point, e.g. "/:id". */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  /** Who may call it; there is no default, so no route is public by accident. */
  auth: Access;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * Also accept multipart/form-data: the form is mapped by this function to the value `body` validates, so both
   * forms meet the same schema (the OpenAPI document describes the JSON form).
   */
  multipart?: (form: FormData) => Promise<unknown>;
  /** Largest accepted body in bytes; defaults to MAX_BODY_BYTES. */
  bodyLimit?: number;
  /** Time the handler may take before the client gets 504; defaults to ROUTE_TIMEOUT_MS. */
  timeoutMs?: number;
  /** false exempts the route from the per-user/per-IP request limit (health probes, docs). */
  rateLimit?: false;
  responses: Record<number, ResponseSpec>;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

interface RouteInput<P, Q, B> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
}

const NO_INPUT = { params: undefined, query: undefined, body: undefined };

type RouteHandler<P, Q, B> = (c: Context<AppEnv>, input: RouteInput<P, Q, B>) => Response | Promise<Response>;

/** What the OpenAPI builder needs to know about one route. */
export interface Operation {
  method: Method;
  path: string;
  spec: RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;
}

export class ApiRouter {
  readonly app = new Hono<AppEnv>();
  readonly operations: Operation[] = [];

  constructor(readonly tag: string) {}

  route<
    P extends z.ZodType | undefined = undefined,
    Q extends z.ZodType | undefined = undefined,
    B extends z.ZodType | undefined = undefined,
  >(spec: RouteSpec<P, Q, B>, handler: RouteHandler<P, Q, B>): this {
    const withTags = { ...spec, tags: spec.tags ?? [this.tag] };
    this.operations.push({ method: spec.method, path: spec.path, spec: withTags });
    // Nothing to check or read before the handler: it runs at once, and an answer it returns synchronously goes
    // out without a deadline timer (a timer costs about 10 µs a request on workerd, docs/benchmarks.md).
    const direct = spec.auth === "public" && spec.rateLimit === false && !spec.params && !spec.query && !spec.body;
    // The whole request (session check, rate limit, body, handler) answers within its time, or the client gets 504;
    // a late answer is dropped.
    const deadline = (c: Context<AppEnv>, answer: Promise<Response>) => {
      const ms = spec.timeoutMs ?? c.get("config").routeTimeoutMs;
      return withTimeout(answer, ms, () => new ApiError("timeout", `The request did not complete within ${ms} ms`));
    };
    this.app.on(spec.method.toUpperCase(), spec.path, (c) => {
      if (direct) {
        const answer = handler(c, NO_INPUT as RouteInput<P, Q, B>);
        return answer instanceof Response ? answer : deadline(c, answer);
      }
      const run = async () => {
        // Authentication before validation: an anonymous caller learns nothing about a route's input.
        const caller = await authorize(c, spec.auth);
        if (spec.rateLimit !== false) await enforceRequestLimit(c, caller?.sub);
        const input = {
          params: spec.params ? parseInput(spec.params, c.req.param(), "path") : undefined,
          query: spec.query ? parseInput(spec.query, c.req.query(), "query") : undefined,
          body: spec.body ? await readBody(c, spec.body, spec) : undefined,
        } as RouteInput<P, Q, B>;
        return handler(c, input);
      };
      return deadline(c, run());
    });
    return this;
  }
}

/** The body as JSON, or as a form mapped to the same shape where the route accepts multipart. */
async function readBody(
  c: Context<AppEnv>,
  schema: z.ZodType,
  spec: Pick<RouteSpec, "multipart" | "bodyLimit">,
): Promise<unknown> {
  const limit = spec.bodyLimit ?? c.get("config").maxBodyBytes;
  if (spec.multipart && isMultipart(c)) {
    return parseInput(schema, await spec.multipart(await readFormBody(c, limit)), "body");
  }
  return readJsonBody(c, schema, limit);
}

/** A router mounted at a prefix of the gateway. */
export interface Mount {
  prefix: string;
  router: ApiRouter;
}

export function joinPath(prefix: string, path: string): string {
  const joined = `${prefix.replace(/\/$/, "")}${path === "/" && prefix ? "" : path}`;
  return joined === "" ? "/" : joined;
}
