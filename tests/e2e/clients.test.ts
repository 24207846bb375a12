// Tessera through clients nobody here wrote, over real HTTP against `wrangler dev`: the served OpenAPI document through
// swagger-parser, Redocly and openapi-typescript (whose generated client must compile), and `jose` as a third-party
// resource server that configures itself from the OpenID discovery document.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import SwaggerParser from "@apidevtools/swagger-parser";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createScratch, type Scratch } from "../support/scratch";
import { signUp } from "./users";

const base = inject("workerUrl");
let scratch: Scratch;
let document: Record<string, unknown>;

beforeAll(async () => {
  scratch = await createScratch("tessera-e2e-clients");
  const res = await fetch(`${base}/openapi.json`);
  expect(res.status).toBe(200);
  document = (await res.json()) as Record<string, unknown>;
});
afterAll(async () => {
  await scratch?.cleanup();
});

describe("/openapi.json with real OpenAPI tooling", () => {
  it("is valid OpenAPI 3.1 to swagger-parser, with every $ref resolving", async () => {
    const api = await SwaggerParser.validate(structuredClone(document) as never);
    expect((api as { openapi?: string }).openapi).toBe("3.1.0");
    expect(JSON.stringify(document)).not.toContain("#/$defs/");
    // Dereferencing follows every pointer: one dangling $ref throws.
    await expect(SwaggerParser.dereference(structuredClone(document) as never)).resolves.toBeDefined();
  });

  it("has no errors under Redocly's recommended rules, and names its servers", async () => {
    const config = await createConfig({ extends: ["recommended"] });
    const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: "/openapi.json", config });
    const errors = problems.filter((p) => p.severity === "error");
    expect(errors.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([]);
    expect(document.servers).toEqual([expect.objectContaining({ url: "/" })]);
  });

  it("generates a typed client with openapi-typescript that compiles, and types what the routes take", async () => {
    const types = astToString(await openapiTS(structuredClone(document) as never));
    const generated = join(scratch.dir, "tessera-api.ts");
    await writeFile(generated, types);
    // A use of the generated types: wrong field types must not compile, so the types are not all `unknown`.
    const usage = join(scratch.dir, "usage.ts");
    await writeFile(
      usage,
      [
        'import type { paths } from "./tessera-api";',
        'type Speech = paths["/v1/audio/speech"]["post"]["requestBody"]["content"]["application/json"];',
        'export const ok: Speech = { model: "tts-1", input: "hi", voice: "marin", response_format: "opus" };',
        'type Login = paths["/v1/auth/login"]["post"]["requestBody"]["content"]["application/json"];',
        'export const login: Login["password"] = "secret";',
        "// @ts-expect-error: a voice OpenAI does not have",
        'export const bad: Speech = { model: "tts-1", input: "hi", voice: "darth" };',
        "",
      ].join("\n"),
    );
    const program = ts.createProgram([generated, usage], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      skipLibCheck: true,
      types: [],
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(diagnostics).toEqual([]);
  });
});

describe("jose as a third-party resource server", () => {
  it("discovers the JWKS from /.well-known/openid-configuration and verifies a token with a jti", async () => {
    const discovery = await fetch(`${base}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    const config = (await discovery.json()) as {
      issuer: string;
      jwks_uri: string;
      id_token_signing_alg_values_supported: string[];
    };
    expect(config.jwks_uri).toBe(`${base}/.well-known/jwks.json`);
    const jwks = createRemoteJWKSet(new URL(config.jwks_uri));
    const user = await signUp("rs");
    const { payload, protectedHeader } = await jwtVerify(user.token, jwks, {
      issuer: config.issuer,
      audience: "tessera-api",
      algorithms: config.id_token_signing_alg_values_supported,
    });
    expect(payload.sub).toBe(user.id);
    expect(protectedHeader.alg).toBe(config.id_token_signing_alg_values_supported[0]);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    // Every token has its own id, even for the same user in the same second.
    const other = await signUp("rs");
    expect(decodeJwt(other.token).jti).not.toBe(payload.jti);
  });
});
