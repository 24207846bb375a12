// Throwaway secrets for local development, made once and kept under .data/ so tokens and the dev GPU worker's
// credential survive a restart. Production secrets are set with `wrangler secret put`; these never leave this machine.
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { generateKeyPairSecrets, type KeyPairSecrets } from "../../src/lib/identity/keys";
import { randomToken } from "../../src/lib/identity/tokens";
import { WORKER_SECRET_PREFIX } from "../../src/lib/jobs/protocol";

/** The value the developer's own .dev.vars gives `name`, which then wins over a generated one. */
async function devVarsValue(devVarsPath: string, name: string): Promise<string | undefined> {
  if (!existsSync(devVarsPath)) return undefined;
  const line = new RegExp(`^\\s*${name}\\s*=(.*)$`, "m").exec(await readFile(devVarsPath, "utf8"));
  return line?.[1]?.trim().replace(/^"(.*)"$/, "$1");
}

/** The JSON kept at `path`, or `make()`'s result, written there (owner-only) for next time. */
async function persisted<T>(path: string, valid: (stored: T) => boolean, make: () => Promise<T>): Promise<T> {
  try {
    const stored = JSON.parse(await readFile(path, "utf8")) as T;
    if (valid(stored)) return stored;
  } catch {
    // Not made yet (or unreadable): make a new one below.
  }
  const value = await make();
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  return value;
}

export async function localSigningKeys(path: string, devVarsPath: string): Promise<KeyPairSecrets | undefined> {
  if (await devVarsValue(devVarsPath, "JWT_PRIVATE_KEY")) return undefined;
  return persisted<KeyPairSecrets>(
    path,
    (s) => Boolean(s.JWT_PRIVATE_KEY && s.JWT_PUBLIC_KEYS),
    () => generateKeyPairSecrets("ES256"),
  );
}

/**
 * The credential the dev GPU worker uses, passed to the Worker as GPU_WORKER_BOOTSTRAP_SECRET: the developer's own
 * from .dev.vars, else one generated once.
 */
export async function localGpuWorkerSecret(path: string, devVarsPath: string): Promise<string> {
  const own = await devVarsValue(devVarsPath, "GPU_WORKER_BOOTSTRAP_SECRET");
  if (own) return own;
  const stored = await persisted<{ GPU_WORKER_BOOTSTRAP_SECRET: string }>(
    path,
    (s) => typeof s.GPU_WORKER_BOOTSTRAP_SECRET === "string",
    async () => ({ GPU_WORKER_BOOTSTRAP_SECRET: randomToken(WORKER_SECRET_PREFIX) }),
  );
  return stored.GPU_WORKER_BOOTSTRAP_SECRET;
}

/**
 * The running dev bridge's per-run secret, written by `npm run dev` (owner-only) so local tools such as
 * `npm run admin:create` can reach that bridge; each run writes a new one.
 */
export async function writeBridgeSecret(path: string, port: number, secret: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify({ port, secret })}\n`, { mode: 0o600 });
}

/** The secret `npm run dev` wrote for the bridge on `port`, if that is the one running. */
export async function readBridgeSecret(path: string, port: number): Promise<string | undefined> {
  try {
    const stored = JSON.parse(await readFile(path, "utf8")) as { port?: unknown; secret?: unknown };
    return stored.port === port && typeof stored.secret === "string" ? stored.secret : undefined;
  } catch {
    return undefined;
  }
}
