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

const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    requestId: z.string(),
    issues: z
      .array(z.object({ path: z.array(z.union([z.string(), z.number()])), code: z.string(), message: z.string() }))
      .optional(),
  }),
});

function schemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
  return rest;
}

function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");
}

function parameters(op: Operation): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [location, schema] of [
    ["path", op.spec.params],
    ["query", op.spec.query],
  ] as const) {
    if (!schema) continue;
    const json = schemaOf(schema, "input");
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
  return access === "session" ? "Requires a signed-in user with a live session." : "Requires a signed-in user.";
}

/** The schemes any of which satisfies `access` (none for a public route). */
function securitySchemes(access: Access): Readonly<Record<string, SecurityScheme>> {
  if (access === "public") return {};
  return isCredentialAccess(access) ? access.schemes : USER_BEARER_SCHEME;
}

function operationObject(op: Operation): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, res] of Object.entries(op.spec.responses)) {
    const content = res.schema
      ? { "application/json": { schema: schemaOf(res.schema, "output") } }
      : res.contentType
        ? { [res.contentType]: {} }
        : undefined;
    responses[status] = { description: res.description, ...(content ? { content } : {}) };
  }
  responses.default = {
    description: "Error in the one error shape",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  };
  const params = parameters(op);
  const access = op.spec.auth;
  const accessNote = accessDescription(access);
  const description = [op.spec.description, accessNote].filter(Boolean).join("\n\n");
  return {
    summary: op.spec.summary,
    ...(description ? { description } : {}),
    security: Object.keys(securitySchemes(access)).map((name) => ({ [name]: [] })),
    tags: op.spec.tags ?? [],
    operationId: operationId(op.method, op.path),
    ...(params.length ? { parameters: params } : {}),
    ...(op.spec.body
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: schemaOf(op.spec.body, "input") } },
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
  for (const op of operations) {
    const key = toOpenApiPath(op.path);
    paths[key] ??= {};
    paths[key][op.method] = operationObject({ ...op, path: key });
  }
  const example: { error: { issues?: Issue[] } } = errorBody("invalid_request", "Malformed JSON in request body", "…", [
    { path: ["body"], code: "invalid_json", message: "Unexpected token" },
  ]);
  return {
    openapi: "3.1.0",
    info,
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    paths,
    components: {
      schemas: { Error: { ...schemaOf(ErrorBodySchema, "output"), examples: [example] } },
      securitySchemes: Object.assign({}, USER_BEARER_SCHEME, ...operations.map((op) => securitySchemes(op.spec.auth))),
    },
  };
}
