// /v1/admin/service-credentials: secrets for services that call scoped routes without a user (role admin,
// checked against the live session). Shown once at issue; only their SHA-256 is kept.
import { z } from "zod";
import {
  issueServiceCredential,
  ServiceCredentialInfo,
  ServiceScope,
  serviceCredentials,
} from "../src/lib/identity/service-credentials";
import { unwrap } from "../src/lib/platform/refusal";
import { ApiRouter } from "../src/lib/platform/router";

const ADMIN = { role: "admin" } as const;

export const serviceCredentialsService = new ApiRouter("admin-service-credentials")
  .route(
    {
      method: "post",
      path: "/service-credentials",
      auth: ADMIN,
      summary: "Issue a service credential with scopes (the secret `tsc_…` is shown once; only its hash is kept)",
      body: z.object({ name: z.string().trim().min(1).max(64), scopes: z.array(ServiceScope).min(1).max(16) }).strict(),
      responses: {
        201: {
          description: "The credential and its secret",
          schema: ServiceCredentialInfo.extend({ secret: z.string() }),
        },
      },
    },
    async (c, { body }) => c.json(await issueServiceCredential(c.env, body.name, body.scopes), 201),
  )
  .route(
    {
      method: "get",
      path: "/service-credentials",
      auth: ADMIN,
      summary: "Every service credential, revoked ones included (never the secrets)",
      responses: {
        200: { description: "Credentials", schema: z.object({ credentials: z.array(ServiceCredentialInfo) }) },
      },
    },
    async (c) => c.json({ credentials: await serviceCredentials(c.env).list() }),
  )
  .route(
    {
      method: "delete",
      path: "/service-credentials/:id",
      auth: ADMIN,
      summary: "Revoke a service credential; its next call is refused with 401",
      params: z.object({ id: z.string().min(1).max(128) }),
      responses: { 204: { description: "Revoked" }, 404: { description: "No such live credential" } },
    },
    async (c, { params }) => {
      unwrap(await serviceCredentials(c.env).revoke(params.id));
      return c.body(null, 204);
    },
  );
