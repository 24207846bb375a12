// The OpenAPI 3.1 document, generated from the route declarations (zod → JSON Schema 2020-12).
import { z } from "zod";
import { type Access, isCredentialAccess, type SecurityScheme, USER_BEARER_SCHEME } from "../identity/auth";
import { errorBody, type Issue } from "./errors";
import { joinPath, type Mount, type Operation } from "./router";

export interface ApiInfo {
  title: string;
  version: string;
  description: string;
}

type JsonSchema = Record<string, unknown>;

/** The one error shape (src/lib/platform/errors.ts) as a schema: the document's `Error` and the tests' type. */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    requestId: z.string(),
    issues: z
      .array(z.object({ path: z.array(z.union([z.string(), z.number()])), code: z.string(), message: z.string() }))
      .optional(),
  }),
});

let jsonValueShapeCache: string | undefined;
/** zod's JSON value union with its self-references as SELF; built on first use, not at import. */
function jsonValueShape(): string {
  jsonValueShapeCache ??= JSON.stringify((z.toJSONSchema(z.json()) as { anyOf?: unknown }).anyOf ?? []).replaceAll(
    '"#"',
    '"SELF"',
  );
  return jsonValueShapeCache;
}

/**
 * The document's shared schemas. zod puts a schema's reused or recursive parts in its own `$defs` and refers to them
 * as `#/$defs/<name>`; inside an OpenAPI document that pointer resolves against the document's root, where there is
 * no `$defs`. Each such part is hoisted here, under a name made unique in the document, and its references rewritten
 * to `#/components/schemas/<name>`.
 */
class SchemaComponents {
  readonly schemas: Record<string, JsonSchema> = {};

  /**
   * zod's JSON value (`z.json()`) is a recursive union; generators such as openapi-typescript cannot type a component
   * that refers to itself, so every such part becomes one shared, unconstrained `JsonValue`.
   */
  private jsonValueRef(def: JsonSchema, local: string): string | undefined {
    const self = `#/$defs/${local}`;
    const anyOf = def.anyOf;
    if (!Array.isArray(anyOf) || anyOf.length !== 6) return undefined;
    if (JSON.stringify(anyOf).replaceAll(`"${self}"`, '"SELF"') !== jsonValueShape()) return undefined;
    this.schemas.JsonValue = { description: "Any JSON value" };
    return "#/components/schemas/JsonValue";
  }

  private uniqueName(label: string, local: string): string {
    const base = `${label}_${local.replace(/^_+/, "")}`.replace(/[^A-Za-z0-9._-]/g, "_");
    let name = base;
    for (let n = 2; name in this.schemas; n++) name = `${base}_${n}`;
    return name;
  }

  /** The JSON Schema of `schema` with its `$defs` hoisted; `label` prefixes the hoisted parts' names. */
  schemaOf(schema: z.ZodType, io: "input" | "output", label: string): JsonSchema {
    const {
      $schema: _ignored,
      $defs,
      ...rest
    } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    if (!$defs) return rest;
    const refs = new Map<string, string>();
    for (const [local, def] of Object.entries($defs)) {
      const shared = this.jsonValueRef(def, local);
      if (shared) {
        refs.set(local, shared);
        continue;
      }
      const name = this.uniqueName(label, local);
      refs.set(local, `#/components/schemas/${name}`);
      this.schemas[name] = {}; // reserve the name before the next one is made
    }
    const rewrite = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(rewrite);
      if (!value || typeof value !== "object") return value;
      const out: JsonSchema = {};
      for (const [key, v] of Object.entries(value)) {
        const target = key === "$ref" && typeof v === "string" ? /^#\/\$defs\/(.+)$/.exec(v)?.[1] : undefined;
        out[key] = target && refs.has(target) ? refs.get(target) : rewrite(v);
      }
      return out;
    };
    for (const [local, def] of Object.entries($defs)) {
      const ref = refs.get(local) as string;
      if (ref !== "#/components/schemas/JsonValue")
        this.schemas[ref.split("/").pop() as string] = rewrite(def) as JsonSchema;
    }
    return rewrite(rest) as JsonSchema;
  }
}

function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");
}

function parameters(op: Operation, components: SchemaComponents, label: string): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [location, schema] of [
    ["path", op.spec.params],
    ["query", op.spec.query],
  ] as const) {
    if (!schema) continue;
    const json = components.schemaOf(schema, "input", `${label}_${location}`);
    const props = (json.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json.required ?? []) as string[]);
    for (const [name, prop] of Object.entries(props)) {
      out.push({
        name,
        in: location,
        required: location === "path" || required.has(name),
        schema: prop,
        ...(typeof prop.description === "string" ? { description: prop.description } : {}),
      });
    }
  }
  return out;
}

/** "get" + "/v1/users/{id}" → "getV1UsersById"; the root is "getRoot". */
function operationId(method: string, path: string): string {
  const words = path
    .split("/")
    .filter(Boolean)
    .map((segment) => {
      const param = /^\{(.+)\}$/.exec(segment);
      return param ? `By-${param[1]}` : segment;
    })
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/).filter(Boolean));
  const camel = words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join("");
  return method + (camel || "Root");
}

function accessDescription(access: Access): string {
  if (access === "public") return "";
  if (isCredentialAccess(access)) return access.note;
  if (typeof access === "object" && "scope" in access) {
    return (
      `Requires a service credential with the '${access.scope}' scope` +
      (access.orRole ? `, or the '${access.orRole}' role (checked against the live session).` : ".")
    );
  }
  if (typeof access === "object") return `Requires the '${access.role}' role (checked against the live session).`;
  return "Requires a signed-in user with a live session.";
}

/** The schemes any of which satisfies `access` (none for a public route). */
function securitySchemes(access: Access): Readonly<Record<string, SecurityScheme>> {
  if (access === "public") return {};
  return isCredentialAccess(access) ? access.schemes : USER_BEARER_SCHEME;
}

function operationObject(op: Operation, components: SchemaComponents): JsonSchema {
  const id = operationId(op.method, op.path);
  const responses: Record<string, JsonSchema> = {};
  for (const [status, res] of Object.entries(op.spec.responses)) {
    const content = res.schema
      ? { "application/json": { schema: components.schemaOf(res.schema, "output", `${id}_${status}`) } }
      : res.contentType
        ? { [res.contentType]: {} }
        : undefined;
    responses[status] = { description: res.description, ...(content ? { content } : {}) };
  }
  responses.default = {
    description: "Error in the one error shape",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  };
  const params = parameters(op, components, id);
  const access = op.spec.auth;
  const accessNote = accessDescription(access);
  const description = [op.spec.description, accessNote].filter(Boolean).join("\n\n");
  return {
    summary: op.spec.summary,
    ...(description ? { description } : {}),
    security: Object.keys(securitySchemes(access)).map((name) => ({ [name]: [] })),
    tags: op.spec.tags ?? [],
    operationId: id,
    ...(params.length ? { parameters: params } : {}),
    ...(op.spec.body
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: components.schemaOf(op.spec.body, "input", `${id}_body`) } },
          },
        }
      : {}),
    responses,
  };
}

/** Every operation of every mount, with its full path. */
export function allOperations(mounts: Mount[]): Operation[] {
  return mounts.flatMap(({ prefix, router }) =>
    router.operations.map((op) => ({ ...op, path: joinPath(prefix, op.path) })),
  );
}

export function buildOpenApiDocument(info: ApiInfo, operations: Operation[]): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const components = new SchemaComponents();
  for (const op of operations) {
    const key = toOpenApiPath(op.path);
    paths[key] ??= {};
    paths[key][op.method] = operationObject({ ...op, path: key }, components);
  }
  const example: { error: { issues?: Issue[] } } = errorBody("invalid_request", "Malformed JSON in request body", "…", [
    { path: ["body"], code: "invalid_json", message: "Unexpected token" },
  ]);
  return {
    openapi: "3.1.0",
    info,
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    // Relative: the deployment that serves this document is the server, wherever it runs.
    servers: [{ url: "/", description: "This deployment" }],
    paths,
    components: {
      schemas: {
        Error: { ...components.schemaOf(ErrorBodySchema, "output", "Error"), examples: [example] },
        ...components.schemas,
      },
      securitySchemes: Object.assign({}, USER_BEARER_SCHEME, ...operations.map((op) => securitySchemes(op.spec.auth))),
    },
  };
}
