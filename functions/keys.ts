// The public signing keys, for every service (and anyone) that verifies Tessera's access tokens.
import { z } from "zod";
import { publicJwks } from "../src/lib/identity/jwt";
import { ApiRouter } from "../src/lib/platform/router";

export const keysService = new ApiRouter("auth").route(
  {
    method: "get",
    path: "/.well-known/jwks.json",
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
);
