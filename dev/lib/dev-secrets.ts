// Throwaway signing keys for local development, made once and kept under .data/ so tokens survive a restart.
// Production keys are secrets set with `wrangler secret put`; these never leave this machine.
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { generateKeyPairSecrets, type KeyPairSecrets } from "../../src/lib/keys";

/** True when the developer's own .dev.vars sets the keys, which then win over the generated ones. */
async function devVarsDefineKeys(devVarsPath: string): Promise<boolean> {
  if (!existsSync(devVarsPath)) return false;
  return /^\s*JWT_PRIVATE_KEY\s*=/m.test(await readFile(devVarsPath, "utf8"));
}

export async function localSigningKeys(path: string, devVarsPath: string): Promise<KeyPairSecrets | undefined> {
  if (await devVarsDefineKeys(devVarsPath)) return undefined;
  try {
    const stored = JSON.parse(await readFile(path, "utf8")) as KeyPairSecrets;
    if (stored.JWT_PRIVATE_KEY && stored.JWT_PUBLIC_KEYS) return stored;
  } catch {
    // Not made yet (or unreadable): make new ones below.
  }
  const secrets = await generateKeyPairSecrets("ES256");
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}
