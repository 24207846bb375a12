// Token signing keys as JSON Web Keys: their shapes, parsing of the two secrets, and generating new pairs.
// Web Crypto and zod only, so the Worker and Node scripts (generate-keys, the dev runner) share it.
import { z } from "zod";

export const SIGNING_ALGORITHMS = ["ES256", "EdDSA"] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** Rotation needs two keys; more than a handful is a mistake (and each one is imported per isolate). */
const MAX_PUBLIC_KEYS = 8;

// A P-256 coordinate and an Ed25519 key are 32 bytes: 43 base64url characters without padding.
const coordinate = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be 32 bytes, base64url without padding");
const kid = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");
// Members that other tools add (key_ops, ext, x5c, …) are dropped: only those below are ever imported or served.
const use = z.literal("sig").optional();

const Es256Public = z.object({
  kty: z.literal("EC"),
  crv: z.literal("P-256"),
  x: coordinate,
  y: coordinate,
  kid,
  alg: z.literal("ES256"),
  use,
});
const EdDsaPublic = z.object({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: coordinate,
  kid,
  alg: z.literal("EdDSA"),
  use,
});
const PublicJwkSchema = z.discriminatedUnion("alg", [Es256Public, EdDsaPublic]);
const PrivateJwkSchema = z.discriminatedUnion("alg", [
  Es256Public.extend({ d: coordinate }),
  EdDsaPublic.extend({ d: coordinate }),
]);

export type PublicJwk = z.output<typeof PublicJwkSchema>;
type PrivateJwk = z.output<typeof PrivateJwkSchema>;

/** A secret that is missing or wrong: a deployment mistake, with a message fit for the operator's log. */
export class KeyConfigError extends Error {
  override readonly name = "KeyConfigError";
}

function parseJson(secret: string, name: string): unknown {
  try {
    return JSON.parse(secret);
  } catch {
    // The parser's message can quote the secret itself; never repeat it.
    throw new KeyConfigError(`${name} is not valid JSON`);
  }
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}

/** The signing key: one private JWK (EC P-256 for ES256, OKP Ed25519 for EdDSA) with `kid` and `alg`. */
export function parsePrivateJwk(secret: string): PrivateJwk {
  const parsed = PrivateJwkSchema.safeParse(parseJson(secret, "JWT_PRIVATE_KEY"));
  if (!parsed.success)
    throw new KeyConfigError(`JWT_PRIVATE_KEY is not a usable private JWK: ${describe(parsed.error)}`);
  return parsed.data;
}

/**
 * The verification keys: `{"keys":[…]}` of public JWKs. A private member anywhere is refused rather than
 * stripped: it means a private key was pasted where it would be published, and that key must be replaced.
 */
export function parsePublicJwks(secret: string): PublicJwk[] {
  const value = parseJson(secret, "JWT_PUBLIC_KEYS");
  const raw = z.object({ keys: z.array(z.unknown()) }).safeParse(value);
  if (!raw.success) throw new KeyConfigError(`JWT_PUBLIC_KEYS must be {"keys":[…]}: ${describe(raw.error)}`);
  const { keys } = raw.data;
  if (keys.length === 0) throw new KeyConfigError("JWT_PUBLIC_KEYS holds no keys");
  if (keys.length > MAX_PUBLIC_KEYS) {
    throw new KeyConfigError(`JWT_PUBLIC_KEYS holds ${keys.length} keys; at most ${MAX_PUBLIC_KEYS}`);
  }
  const result: PublicJwk[] = [];
  const seen = new Set<string>();
  keys.forEach((key, index) => {
    if (typeof key === "object" && key !== null && "d" in key) {
      throw new KeyConfigError(`JWT_PUBLIC_KEYS.keys.${index} is a private key (has "d"): replace that key pair`);
    }
    const parsed = PublicJwkSchema.safeParse(key);
    if (!parsed.success) {
      throw new KeyConfigError(`JWT_PUBLIC_KEYS.keys.${index} is not a usable public JWK: ${describe(parsed.error)}`);
    }
    if (seen.has(parsed.data.kid)) throw new KeyConfigError(`JWT_PUBLIC_KEYS has kid '${parsed.data.kid}' twice`);
    seen.add(parsed.data.kid);
    result.push(parsed.data);
  });
  return result;
}

/** Only the public members, in the form the JWKS endpoint serves. */
export function toPublicJwk(jwk: PublicJwk | PrivateJwk): PublicJwk {
  return jwk.alg === "ES256"
    ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: jwk.kid, alg: jwk.alg, use: "sig" }
    : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid: jwk.kid, alg: jwk.alg, use: "sig" };
}

/** Whether two JWKs hold the same public key (the kid and decoration aside). */
export function samePublicKey(a: PublicJwk | PrivateJwk, b: PublicJwk | PrivateJwk): boolean {
  if (a.alg !== b.alg || a.x !== b.x) return false;
  return a.alg === "ES256" && b.alg === "ES256" ? a.y === b.y : true;
}

/** A kid that sorts by creation and says which algorithm it is, e.g. `es256-20260426-3f9a1c2e`. */
function defaultKid(alg: SigningAlgorithm): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "");
  const random = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${alg.toLowerCase()}-${day}-${random}`;
}

/** A new key pair as JWKs, from Web Crypto (Node 20's global `crypto` and workerd's alike). */
async function generateSigningKeyPair(
  alg: SigningAlgorithm,
  kidValue: string = defaultKid(alg),
): Promise<{ privateJwk: PrivateJwk; publicJwk: PublicJwk }> {
  const params = alg === "ES256" ? { name: "ECDSA", namedCurve: "P-256" } : { name: "Ed25519" };
  // The two runtimes' typings differ on generateKey's overloads; an asymmetric algorithm always yields a pair.
  const pair = (await crypto.subtle.generateKey(params, true, ["sign", "verify"])) as CryptoKeyPair;
  const exported = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const privateJwk = parsePrivateJwk(JSON.stringify({ ...pickKeyMembers(exported), kid: kidValue, alg }));
  return { privateJwk, publicJwk: toPublicJwk(privateJwk) };
}

/** Only the key material of an exported JWK: Web Crypto adds key_ops and ext, and its typings say little. */
function pickKeyMembers(jwk: unknown): Record<string, unknown> {
  const source = (typeof jwk === "object" && jwk !== null ? jwk : {}) as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const name of ["kty", "crv", "x", "y", "d"]) if (source[name] !== undefined) picked[name] = source[name];
  return picked;
}

export interface KeyPairSecrets {
  JWT_PRIVATE_KEY: string;
  JWT_PUBLIC_KEYS: string;
}

/** The values of the two secrets for a fresh key pair (also throwaway dev and test keys). */
export async function generateKeyPairSecrets(alg: SigningAlgorithm, kidValue?: string): Promise<KeyPairSecrets> {
  const { privateJwk, publicJwk } = await generateSigningKeyPair(alg, kidValue);
  return { JWT_PRIVATE_KEY: JSON.stringify(privateJwk), JWT_PUBLIC_KEYS: JSON.stringify({ keys: [publicJwk] }) };
}

/**
 * JWT_PUBLIC_KEYS for a rotation: the new set's keys first, then the previous set's keys that it lacks, so tokens
 * signed by the old key keep verifying until they expire. A kid reused for a different key is refused.
 */
export function mergePublicKeys(current: string, previous: string): string {
  const merged = parsePublicJwks(current).map(toPublicJwk);
  for (const key of parsePublicJwks(previous)) {
    const same = merged.find((k) => k.kid === key.kid);
    if (!same) merged.push(toPublicJwk(key));
    else if (!samePublicKey(same, key)) throw new KeyConfigError(`kid '${key.kid}' names two different keys`);
  }
  if (merged.length > MAX_PUBLIC_KEYS) {
    throw new KeyConfigError(
      `the merged set holds ${merged.length} keys; at most ${MAX_PUBLIC_KEYS}: drop retired ones`,
    );
  }
  return JSON.stringify({ keys: merged });
}
