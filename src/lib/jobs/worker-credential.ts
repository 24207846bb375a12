// The GPU worker's credential as a route access (`auth: GPU_WORKER`): `Authorization: Bearer tgw_…`, issued by
// POST /v1/admin/gpu-workers or set by configuration (GPU_WORKER_BOOTSTRAP_SECRET, docs/jobs.md). The credentials
// live beside the service credentials, in the ServiceCredentials object; the job board only sees worker ids.
import type { Context } from "hono";
import { z } from "zod";
import { bearerToken, type CredentialAccess } from "../identity/auth";
import { serviceCredentials } from "../identity/service-credentials";
import { sha256Hex, timingSafeEqualStrings } from "../identity/tokens";
import type { AppEnv, Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import { WORKER_SECRET_PREFIX } from "./protocol";

/** A GPU worker's credential as the admin routes list it (the secret's hash is never shown). */
export const GpuWorkerCredential = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
export type GpuWorkerCredential = z.infer<typeof GpuWorkerCredential>;

/** What the job board has seen of a worker: its last lease call's report, and the jobs it holds. */
export const GpuWorkerSeen = z.object({
  lastSeenAt: z.string().nullable(),
  freeVramMiB: z.number().nullable(),
  loadedModels: z.array(z.string()),
  jobsInHand: z.number().int(),
});
export type GpuWorkerSeen = z.infer<typeof GpuWorkerSeen>;

/** The worker for `GPU_WORKER_BOOTSTRAP_SECRET` when the token is that secret, else null. */
async function bootstrapWorker(env: Env, token: string, hash: string): Promise<{ id: string } | null> {
  const secret = env.GPU_WORKER_BOOTSTRAP_SECRET;
  if (!secret || secret.length < WORKER_SECRET_PREFIX.length + 32) return null;
  if (!(await timingSafeEqualStrings(token, secret))) return null;
  const id = `gpuw_bootstrap_${hash.slice(0, 12)}`;
  return serviceCredentials(env).bootstrapGpuWorker(id, "bootstrap (configured)", hash);
}

/** A GPU worker's routes: a user's token, a service credential or a revoked worker credential → 401. */
export const GPU_WORKER: CredentialAccess = {
  credential: "gpu-worker",
  note: "Requires a GPU worker credential (`Authorization: Bearer tgw_…`, POST /v1/admin/gpu-workers); never a user's token.",
  schemes: { gpuWorkerAuth: { type: "http", scheme: "bearer", bearerFormat: "tgw_… GPU worker credential" } },
  async verify(c) {
    const token = bearerToken(c);
    const refuse = () =>
      new ApiError("unauthorized", "A valid GPU worker credential is required", {
        headers: { "WWW-Authenticate": "Bearer" },
      });
    if (!token?.startsWith(WORKER_SECRET_PREFIX)) throw refuse();
    const hash = await sha256Hex(token);
    const worker =
      (await serviceCredentials(c.env).gpuWorkerByHash(hash)) ?? (await bootstrapWorker(c.env, token, hash));
    if (!worker) throw refuse();
    c.set("gpuWorker", worker);
  },
};

/** The worker that called a route declared with `auth: GPU_WORKER`. */
export function gpuWorker(c: Context<AppEnv>): { id: string } {
  const worker = c.get("gpuWorker");
  if (!worker) throw new Error("gpuWorker() on a route not declared with auth: GPU_WORKER");
  return worker;
}
