// `tsx scripts/generate-keys.ts [--alg ES256|EdDSA] [--kid id] [--previous <old JWT_PUBLIC_KEYS | @file>]`
// Prints a fresh token signing key pair as the two secrets' values, one `NAME=value` line each (the .dev.vars form).
// With --previous, JWT_PUBLIC_KEYS also keeps the old public keys, for a rotation without downtime.
import { readFileSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  generateKeyPairSecrets,
  type KeyPairSecrets,
  mergePublicKeys,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
} from "../src/lib/identity/keys";

export { generateKeyPairSecrets, type KeyPairSecrets, mergePublicKeys };

const USAGE = "usage: tsx scripts/generate-keys.ts [--alg ES256|EdDSA] [--kid id] [--previous <JSON | @file>]";

function isAlgorithm(value: string): value is SigningAlgorithm {
  return (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}

async function main(argv: string[]): Promise<number> {
  let values: { alg?: string; kid?: string; previous?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        alg: { type: "string", default: "ES256" },
        kid: { type: "string" },
        previous: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const alg = values.alg ?? "ES256";
  if (!isAlgorithm(alg)) {
    console.error(`--alg must be one of ${SIGNING_ALGORITHMS.join(", ")}\n${USAGE}`);
    return 2;
  }
  try {
    const secrets = await generateKeyPairSecrets(alg, values.kid);
    if (values.previous !== undefined) {
      const previous = values.previous.startsWith("@")
        ? readFileSync(values.previous.slice(1), "utf8").trim()
        : values.previous;
      secrets.JWT_PUBLIC_KEYS = mergePublicKeys(secrets.JWT_PUBLIC_KEYS, previous);
    }
    console.log(`JWT_PRIVATE_KEY=${secrets.JWT_PRIVATE_KEY}`);
    console.log(`JWT_PUBLIC_KEYS=${secrets.JWT_PUBLIC_KEYS}`);
    // Guidance on stderr keeps stdout pasteable into .dev.vars as it is.
    console.error(
      values.previous === undefined
        ? "Set both secrets (wrangler secret put NAME, or .dev.vars locally)."
        : "Rotation: deploy JWT_PUBLIC_KEYS everywhere first, then JWT_PRIVATE_KEY; drop the old key after the token lifetime.",
    );
    return 0;
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  }
}

// Run only as a command, not when the dev runner or a test imports the functions.
const invoked = process.argv[1];
if (invoked && realpathSync(resolve(invoked)) === realpathSync(fileURLToPath(import.meta.url))) {
  process.exitCode = await main(process.argv.slice(2));
}
