// The LLM route table (docs/llm.md "Routing"): providers, and aliases that map to ordered or weighted targets.
// LLM_ROUTES (a JSON var) is parsed once per isolate; an admin's override (PUT /v1/llm/routes) is stored in KV
// and replaces it whole, read at most every ROUTES_REFRESH_MS per isolate.
import { z } from "zod";
import type { Env } from "../platform/env";
import { ApiError } from "../platform/errors";

/** Only secrets named LLM_KEY_* can hold a provider's key: a route table can never read JWT_PRIVATE_KEY. */
const KEY_SECRET_PREFIX = "LLM_KEY_";

const HttpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL");

/**
 * A provider on loopback or a private network (a self-hosted vLLM, TGI or TEI) must say so: otherwise the outgoing
 * guard refuses it like any other private address (docs/security.md, docs/llm.md).
 */
const AllowPrivate = z.boolean().default(false);

export const ProviderConfig = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("openai-compatible"),
      baseUrl: HttpUrl,
      apiKeySecret: z.string().startsWith(KEY_SECRET_PREFIX).max(64).optional(),
      timeoutMs: z.number().int().min(100).max(600_000).default(60_000),
      allowPrivate: AllowPrivate,
    })
    .strict(),
  z
    .object({
      type: z.literal("huggingface"),
      endpointUrl: HttpUrl.optional(),
      apiKeySecret: z.string().startsWith(KEY_SECRET_PREFIX).max(64).optional(),
      timeoutMs: z.number().int().min(100).max(600_000).default(60_000),
      allowPrivate: AllowPrivate,
    })
    .strict(),
]);
export type ProviderConfig = z.output<typeof ProviderConfig>;

const Params = z
  .object({
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    max_tokens: z.number().int().min(1).optional(),
    presence_penalty: z.number().min(-2).max(2).optional(),
    frequency_penalty: z.number().min(-2).max(2).optional(),
  })
  .strict();

export const TargetConfig = z
  .object({
    provider: z.string().min(1).max(64),
    model: z.string().min(1).max(256),
    /** Relative share when the alias is weighted. */
    weight: z.number().min(0).max(1000).default(1),
    /** Defaults the caller's own values override. */
    params: Params.default({}),
    /** US dollars per million tokens, for the cost column of usage. */
    price: z
      .object({ prompt: z.number().min(0), completion: z.number().min(0) })
      .strict()
      .default({
        prompt: 0,
        completion: 0,
      }),
  })
  .strict();
export type TargetConfig = z.output<typeof TargetConfig>;

export const AliasConfig = z
  .object({
    strategy: z.enum(["ordered", "weighted"]).default("ordered"),
    targets: z.array(TargetConfig).min(1).max(16),
    /** What the alias serves: chat completions or embeddings. */
    kind: z.enum(["chat", "embeddings"]).default("chat"),
    /** Roles that may use it; empty = any caller. */
    roles: z.array(z.string().min(1).max(64)).max(16).default([]),
  })
  .strict();
export type AliasConfig = z.output<typeof AliasConfig>;

export const RoutesConfig = z
  .object({
    providers: z.record(z.string().min(1).max(64), ProviderConfig).default({}),
    aliases: z.record(z.string().min(1).max(256), AliasConfig).default({}),
    /** Tokens (prompt + completion) one user may spend per UTC day; 0 = unlimited. */
    dailyTokenBudget: z.number().int().min(0).default(0),
    /** Attempts per target before falling back (1 = no retry), and the cap on all attempts of one request. */
    retriesPerTarget: z.number().int().min(0).max(5).default(1),
    maxAttempts: z.number().int().min(1).max(20).default(6),
    /** The longest Retry-After the router waits out inside one request; longer ones fall back at once. */
    maxRetryAfterMs: z.number().int().min(0).max(60_000).default(2000),
    /** Consecutive failures that open a target's breaker, and how long it stays open. */
    breaker: z
      .object({ failures: z.number().int().min(1).max(1000), openMs: z.number().int().min(100).max(3_600_000) })
      .strict()
      .default({ failures: 3, openMs: 30_000 }),
    /** How long a deterministic completion stays in the KV cache (60 s is KV's minimum). */
    cacheTtlSeconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .default(3600),
  })
  .strict()
  .superRefine((routes, ctx) => {
    for (const [alias, config] of Object.entries(routes.aliases)) {
      config.targets.forEach((t, i) => {
        if (t.provider !== "local" && !routes.providers[t.provider]) {
          ctx.addIssue({
            code: "custom",
            path: ["aliases", alias, "targets", i, "provider"],
            message: `unknown provider '${t.provider}'`,
          });
        }
      });
    }
  });
export type RoutesConfig = z.output<typeof RoutesConfig>;

const ROUTES_KV_KEY = "llm:routes";
const ROUTES_REFRESH_MS = 10_000;

interface Loaded {
  routes: RoutesConfig;
  /** Where it came from, for GET /v1/llm/routes. */
  source: "LLM_ROUTES" | "override";
  readAt: number;
}

const fromVar = new WeakMap<Env, RoutesConfig>();
let loaded: Loaded | undefined;

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}

/** Parses a route table; throws the problems named (for the var, a deployment error; for the admin, a 400). */
function parseRoutes(raw: unknown): { ok: true; routes: RoutesConfig } | { ok: false; message: string } {
  const parsed = RoutesConfig.safeParse(raw);
  return parsed.success ? { ok: true, routes: parsed.data } : { ok: false, message: describe(parsed.error) };
}

function routesFromVar(env: Env): RoutesConfig {
  const hit = fromVar.get(env);
  if (hit) return hit;
  let raw: unknown = {};
  if (env.LLM_ROUTES?.trim()) {
    try {
      raw = JSON.parse(env.LLM_ROUTES);
    } catch {
      throw new Error("Invalid configuration: LLM_ROUTES must be JSON");
    }
  }
  const parsed = parseRoutes(raw);
  if (!parsed.ok) throw new Error(`Invalid configuration: LLM_ROUTES: ${parsed.message}`);
  fromVar.set(env, parsed.routes);
  return parsed.routes;
}

/** The route table in force: the admin's override when one is stored, else LLM_ROUTES. */
export async function loadRoutes(env: Env): Promise<Loaded> {
  const now = Date.now();
  if (loaded && now - loaded.readAt < ROUTES_REFRESH_MS) return loaded;
  const stored = await env.MEMORY.get(ROUTES_KV_KEY, "json");
  const parsed = stored === null ? undefined : parseRoutes(stored);
  loaded =
    parsed?.ok === true
      ? { routes: parsed.routes, source: "override", readAt: now }
      : { routes: routesFromVar(env), source: "LLM_ROUTES", readAt: now };
  return loaded;
}

export async function storeOverride(env: Env, raw: unknown): Promise<RoutesConfig> {
  const parsed = parseRoutes(raw);
  if (!parsed.ok) throw new ApiError("invalid_request", `Invalid route table: ${parsed.message}`);
  await env.MEMORY.put(ROUTES_KV_KEY, JSON.stringify(raw));
  loaded = { routes: parsed.routes, source: "override", readAt: Date.now() };
  return parsed.routes;
}

export async function clearOverride(env: Env): Promise<void> {
  await env.MEMORY.delete(ROUTES_KV_KEY);
  loaded = undefined;
}

/** The alias a caller named, or 404 in OpenAI's words; 403 when the alias is limited to roles the caller lacks. */
export function resolveAlias(
  routes: RoutesConfig,
  name: string,
  roles: readonly string[],
  kind: AliasConfig["kind"],
): AliasConfig {
  const alias = Object.hasOwn(routes.aliases, name) ? routes.aliases[name] : undefined;
  if (!alias || alias.kind !== kind) {
    throw new ApiError("not_found", `The model '${name}' does not exist or you do not have access to it`, {
      issues: [{ path: ["body", "model"], code: "model_not_found", message: "unknown model" }],
    });
  }
  if (alias.roles.length && !alias.roles.some((r) => roles.includes(r))) {
    throw new ApiError("forbidden", `The model '${name}' requires one of the roles ${alias.roles.join(", ")}`);
  }
  return alias;
}

export function mayUse(alias: AliasConfig, roles: readonly string[]): boolean {
  return !alias.roles.length || alias.roles.some((r) => roles.includes(r));
}
