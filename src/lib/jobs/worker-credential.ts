// The GPU worker's credential as a route access (`auth: GPU_WORKER`): `Authorization: Bearer tgw_…`, issued by
// POST /v1/admin/gpu-workers or set by configuration (GPU_WORKER_BOOTSTRAP_SECRET, docs/jobs.md).
import type { Context } from "hono";
import { bearerToken, type CredentialAccess } from "../identity/auth";
import { sha256Hex, timingSafeEqualStrings } from "../identity/tokens";
import type { AppEnv, Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import { jobBoard } from "./board";
import { WORKER_SECRET_PREFIX } from "./protocol";

/** The worker for `GPU_WORKER_BOOTSTRAP_SECRET` when the token is that secret, else null. */
async function bootstrapWorker(env: Env, token: string, hash: string): Promise<{ id: string } | null> {
  const secret = env.GPU_WORKER_BOOTSTRAP_SECRET;
  if (!secret || secret.length < WORKER_SECRET_PREFIX.length + 32) return null;
  if (!(await timingSafeEqualStrings(token, secret))) return null;
  return jobBoard(env).bootstrapWorker(`gpuw_bootstrap_${hash.slice(0, 12)}`, "bootstrap (configured)", hash);
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
    const worker = (await jobBoard(c.env).workerByHash(hash)) ?? (await bootstrapWorker(c.env, token, hash));
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
