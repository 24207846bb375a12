// The strangler-fig route table: each path prefix is served by Tessera ("local"), by an upstream service
// that has not moved yet, or split between the two by weight while it moves. Configured, never coded:
// the typed default below, overridden per prefix by the GATEWAY_ROUTES variable (JSON).
import { z } from "zod";

export interface Upstream {
  /** The name in /health's `services` and in /v1/services. */
  name: string;
  /** Base URL; the prefix is stripped and the rest appended (as the old gateway did). */
  url: string;
  /** Path on the upstream that the health cron calls. */
  healthPath: string;
  /** Time allowed for the upstream's response headers. */
  timeoutMs: number;
  /** "user": a valid access token is required; "public": optional (X-User-ID is set only when one is sent). */
  auth: "public" | "user";
  /** Whether the caller's `Authorization` header reaches the upstream (default false: it is dropped). */
  forwardAuthorization: boolean;
}

type RouteTarget =
  | { kind: "local" }
  | { kind: "upstream"; upstream: Upstream }
  /** `percent` of requests (sticky per caller) go to the upstream, the rest are served locally. */
  | { kind: "split"; upstream: Upstream; percent: number }
  /** A legacy prefix whose service is neither migrated nor configured. */
  | { kind: "unconfigured"; name: string };

export interface GatewayRoute {
  prefix: string;
  target: RouteTarget;
}

const DEFAULT_UPSTREAM_TIMEOUT_MS = 30_000;

/**
 * The old gateway's prefixes (docs/gateway.md). Migrated ones are local; the others need an upstream URL in
 * GATEWAY_ROUTES until they move. The names are the old services'.
 */
const DEFAULT_ROUTES: Record<string, "local" | { unconfigured: string }> = {
  "/api/auth": "local",
  "/api/chat": { unconfigured: "chat" },
  "/api/memory": "local",
  "/api/memories": "local",
  "/api/context": "local",
  "/ws": "local",
  "/api/llm": { unconfigured: "main" },
  "/api/vision": { unconfigured: "main" },
  "/api/speech": { unconfigured: "main" },
  "/api/assistant": { unconfigured: "main" },
  "/api/vectors": { unconfigured: "vectors" },
  "/api/analytics": { unconfigured: "analytics" },
  // Served here now in the Prometheus text format (docs/analytics.md).
  "/metrics": "local",
  "/api/monitoring": { unconfigured: "analytics" },
  // The old file service (port 8019) was never behind the old gateway; its adapter lives here now (docs/files.md).
  "/api/files": "local",
  // go-services' generation where its shapes contradict the root-level one on the same path, each at a base path
  // named after the service, as its clients had one base URL per service (docs/legacy.md).
  "/auth-service": "local",
  "/memory-service": "local",
  "/websocket-hub": "local",
  "/api-gateway": "local",
};

const Prefix = z
  .string()
  .regex(/^\/[A-Za-z0-9._~\-/]*$/, "a path prefix such as /api/chat")
  .refine((p) => p === "/" || !p.endsWith("/"), "no trailing slash");
const HttpUrl = z
  .url({ protocol: /^https?$/ })
  .refine((u) => !new URL(u).search && !new URL(u).hash, "no query or fragment");

const UpstreamObject = z
  .object({
    upstream: HttpUrl,
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,31}$/)
      .optional(),
    health: z
      .string()
      .regex(/^\/\S*$/)
      .default("/health"),
    timeoutMs: z.number().int().min(100).max(600_000).default(DEFAULT_UPSTREAM_TIMEOUT_MS),
    /** Percent of requests to the upstream; the rest stay local. 100 (the default) is a plain proxy. */
    weight: z.number().int().min(0).max(100).default(100),
    auth: z.enum(["public", "user"]).default("user"),
    forwardAuthorization: z.boolean().default(false),
  })
  .strict();

const Entry = z.union([z.literal("local"), HttpUrl, UpstreamObject]);
const RoutesVariable = z.record(Prefix, Entry);

function nameFor(prefix: string): string {
  const last = prefix.split("/").filter(Boolean).at(-1) ?? "root";
  return (
    last
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, "-")
      .slice(0, 32) || "root"
  );
}

function targetOf(prefix: string, entry: z.output<typeof Entry>, legacyName?: string): RouteTarget {
  if (entry === "local") return { kind: "local" };
  const spec = typeof entry === "string" ? UpstreamObject.parse({ upstream: entry }) : entry;
  const upstream: Upstream = {
    name: spec.name ?? legacyName ?? nameFor(prefix),
    url: spec.upstream.replace(/\/$/, ""),
    healthPath: spec.health,
    timeoutMs: spec.timeoutMs,
    auth: spec.auth,
    forwardAuthorization: spec.forwardAuthorization,
  };
  if (spec.weight === 0) return { kind: "local" };
  return spec.weight === 100 ? { kind: "upstream", upstream } : { kind: "split", upstream, percent: spec.weight };
}

export class RouteTableError extends Error {}

/** Parses GATEWAY_ROUTES over the defaults; a mistake names the prefix and the problem. */
export function buildRouteTable(variable: string | undefined): GatewayRoute[] {
  let overrides: z.output<typeof RoutesVariable> = {};
  if (variable?.trim()) {
    let json: unknown;
    try {
      json = JSON.parse(variable);
    } catch (err) {
      throw new RouteTableError(`GATEWAY_ROUTES is not JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    const parsed = RoutesVariable.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
      throw new RouteTableError(`GATEWAY_ROUTES is invalid: ${problems}`);
    }
    overrides = parsed.data;
  }
  const routes = new Map<string, RouteTarget>();
  for (const [prefix, entry] of Object.entries(DEFAULT_ROUTES)) {
    routes.set(prefix, entry === "local" ? { kind: "local" } : { kind: "unconfigured", name: entry.unconfigured });
  }
  for (const [prefix, entry] of Object.entries(overrides)) {
    const legacy = DEFAULT_ROUTES[prefix];
    routes.set(prefix, targetOf(prefix, entry, typeof legacy === "object" ? legacy.unconfigured : undefined));
  }
  // Longest prefix first, so /api/memory/x never falls to a shorter /api route.
  return [...routes.entries()]
    .map(([prefix, target]) => ({ prefix, target }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
}

/** The route whose prefix matches `path` on a segment boundary, and the path left after stripping it. */
export function matchRoute(table: GatewayRoute[], path: string): { route: GatewayRoute; rest: string } | undefined {
  for (const route of table) {
    const { prefix } = route;
    if (path === prefix || path.startsWith(`${prefix}/`) || prefix === "/") {
      const rest = prefix === "/" ? path : path.slice(prefix.length);
      return { route, rest: rest === "" ? "/" : rest };
    }
  }
  return undefined;
}

/** Every distinct upstream in the table (several prefixes may share one). */
export function upstreamsOf(table: GatewayRoute[]): Upstream[] {
  const byUrl = new Map<string, Upstream>();
  for (const { target } of table) {
    if (target.kind === "upstream" || target.kind === "split") byUrl.set(target.upstream.name, target.upstream);
  }
  return [...byUrl.values()];
}
