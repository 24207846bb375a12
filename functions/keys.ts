// The public signing keys, for every service (and anyone) that verifies Tessera's access tokens, and the OpenID
// discovery document that points an off-the-shelf resource server at them (docs/auth.md "Verifying tokens elsewhere").
import { z } from "zod";
import { publicJwks, publishedAlgorithms } from "../src/lib/identity/jwt";
import { ApiRouter } from "../src/lib/platform/router";

const JWKS_PATH = "/.well-known/jwks.json";

const DiscoveryDocument = z.object({
  issuer: z.string(),
  jwks_uri: z.string(),
  token_endpoint: z.string(),
  response_types_supported: z.array(z.string()),
  subject_types_supported: z.array(z.string()),
  id_token_signing_alg_values_supported: z.array(z.string()),
  claims_supported: z.array(z.string()),
});

export const keysService = new ApiRouter("auth")
  .route(
    {
      method: "get",
      path: JWKS_PATH,
      auth: "public",
      rateLimit: false,
      summary: "The public keys that verify access tokens (JWKS); during a rotation, two",
      responses: {
        200: {
          description: "JWK Set",
          schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
        },
      },
    },
    (c) => {
      // Short enough that a rotation's new key is picked up well within an access token's lifetime.
      c.header("Cache-Control", "public, max-age=300");
      return c.json(publicJwks(c.env));
    },
  )
  .route(
    {
      method: "get",
      path: "/.well-known/openid-configuration",
      auth: "public",
      rateLimit: false,
      summary: "OpenID Connect discovery: the issuer, the JWKS's URL and the signing algorithms",
      description:
        "For resource servers that configure themselves from the issuer: `issuer` is the tokens' `iss` " +
        "(JWT_ISSUER), `jwks_uri` the absolute URL of the public keys.",
      responses: { 200: { description: "Discovery document", schema: DiscoveryDocument } },
    },
    (c) => {
      const origin = new URL(c.req.url).origin;
      c.header("Cache-Control", "public, max-age=300");
      return c.json({
        issuer: c.get("config").jwtIssuer,
        jwks_uri: `${origin}${JWKS_PATH}`,
        token_endpoint: `${origin}/v1/auth/login`,
        response_types_supported: ["token"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: publishedAlgorithms(c.env),
        claims_supported: ["sub", "username", "roles", "sid", "iss", "aud", "iat", "exp", "jti"],
      } satisfies z.input<typeof DiscoveryDocument>);
    },
  );
