// Service credentials as the routes see them: issuing (the secret is shown once, only its SHA-256 kept),
// and recognising one behind `Authorization: Bearer tsc_…`. A credential is never an access token and an
// access token is never a credential: the prefix decides which check a secret gets (src/lib/identity/auth.ts).
import { z } from "zod";
import type { Env } from "../platform/env";
import { newSecret, sha256Hex } from "./tokens";

const SERVICE_SECRET_PREFIX = "tsc_";

/** What a credential may do. Each scope names the routes that accept it (docs/service-credentials.md). */
export const ServiceScope = z.enum(["hub.publish", "llm", "notifications.publish", "events.write", "metrics.read"]);
export type ServiceScope = z.infer<typeof ServiceScope>;

export const ServiceCredentialInfo = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(ServiceScope),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});
export type ServiceCredentialInfo = z.infer<typeof ServiceCredentialInfo>;

/** A verified service caller. */
export interface ServiceCaller {
  id: string;
  name: string;
  scopes: ServiceScope[];
}

export function serviceCredentials(env: Env) {
  return env.SERVICE_CREDENTIALS.get(env.SERVICE_CREDENTIALS.idFromName("global"));
}

export function isServiceSecret(token: string): boolean {
  return token.startsWith(SERVICE_SECRET_PREFIX);
}

export async function issueServiceCredential(
  env: Env,
  name: string,
  scopes: ServiceScope[],
): Promise<ServiceCredentialInfo & { secret: string }> {
  const { secret, hash } = await newSecret(SERVICE_SECRET_PREFIX);
  const id = `svc_${crypto.randomUUID().replaceAll("-", "")}`;
  const info = await serviceCredentials(env).add(id, name, [...new Set(scopes)], hash);
  return { ...info, secret };
}

/** The live credential behind a secret, or null (unknown or revoked). Not cached: a revocation bites at once. */
export async function verifyServiceSecret(env: Env, secret: string): Promise<ServiceCaller | null> {
  if (!isServiceSecret(secret)) return null;
  const info = await serviceCredentials(env).byHash(await sha256Hex(secret));
  return info ? { id: info.id, name: info.name, scopes: info.scopes } : null;
}
