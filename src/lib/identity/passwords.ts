// Password hashes: PBKDF2-SHA256 through Web Crypto for every new hash, bcrypt only to accept hashes imported from
// the old services. Web Crypto and bcryptjs only, so Node scripts (creating the first admin) can hash too.
import { compare as bcryptCompare } from "bcryptjs";

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
export const PBKDF2_ITERATIONS = 100_000; // Workers' production ceiling: deriveBits above it throws there
/** The old services hashed at cost 12; a higher cost in an imported row would only buy a slower login per attempt. */
export const BCRYPT_MAX_COST = 12;

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const PBKDF2_PREFIX = "$pbkdf2-sha256$";

// $pbkdf2-sha256$i=<iterations>$<salt>$<derived key>, both in standard base64 without padding (PHC string format).
const PBKDF2_FORMAT = /^\$pbkdf2-sha256\$i=([1-9]\d{0,6})\$([A-Za-z0-9+/]{11,86})\$([A-Za-z0-9+/]{22,86})$/;
// Modular crypt format: version, two-digit cost, 22 characters of salt and 31 of hash in bcrypt's own base64.
const BCRYPT_FORMAT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

interface VerifyResult {
  ok: boolean;
  /** The password was right but the stored hash is not today's algorithm and parameters: store hashPassword(password). */
  needsRehash: boolean;
}

const REFUSED: VerifyResult = { ok: false, needsRehash: false };
const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

function fromBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text + "=".repeat((4 - (text.length % 4)) % 4)), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/**
 * NFC first, so the same password typed on systems that compose accents differently derives the same key.
 * (bcrypt hashes are checked against the raw string: the old services did not normalise.)
 */
async function pbkdf2(password: string, salt: Uint8Array, iterations: number, bytes: number): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(password.normalize("NFC")), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    bytes * 8,
  );
  return new Uint8Array(bits);
}

/** Compares every byte whatever the first difference, so the time taken says nothing about how much matched. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

function acceptableLength(password: unknown): password is string {
  // No minimum here: imported users may have shorter passwords than today's rule allows; only new ones are held to it.
  return typeof password === "string" && password.length > 0 && password.length <= PASSWORD_MAX_LENGTH;
}

/** `$pbkdf2-sha256$i=100000$<salt>$<key>`: a fresh 16-byte salt, a 32-byte key. Callers validate length first. */
export async function hashPassword(password: string): Promise<string> {
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
    // Routes check with the same constants and answer 400; arriving here is a bug in the caller.
    throw new RangeError(`password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`);
  }
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const key = await pbkdf2(password, salt, PBKDF2_ITERATIONS, KEY_BYTES);
  return `${PBKDF2_PREFIX}i=${PBKDF2_ITERATIONS}$${toBase64(salt)}$${toBase64(key)}`;
}

interface Pbkdf2Hash {
  iterations: number;
  salt: Uint8Array;
  key: Uint8Array;
}

function parsePbkdf2(stored: string): Pbkdf2Hash | undefined {
  const match = PBKDF2_FORMAT.exec(stored);
  if (!match) return undefined;
  const iterations = Number(match[1]);
  const salt = fromBase64(match[2] ?? "");
  const key = fromBase64(match[3] ?? "");
  // Above the ceiling the production runtime throws; such a row can never verify there, so it never does here.
  if (iterations > PBKDF2_ITERATIONS || !salt || !key) return undefined;
  if (salt.length < 8 || salt.length > 64 || key.length < 16 || key.length > 64) return undefined;
  return { iterations, salt, key };
}

function bcryptCost(stored: string): number | undefined {
  const match = BCRYPT_FORMAT.exec(stored);
  const cost = match ? Number(match[1]) : Number.NaN;
  return cost >= 4 && cost <= BCRYPT_MAX_COST ? cost : undefined;
}

/** Whether a stored hash is one that verifyPassword can check (for validating imported users up front). */
export function isSupportedPasswordHash(stored: string): boolean {
  return parsePbkdf2(stored) !== undefined || bcryptCost(stored) !== undefined;
}

async function verifyPbkdf2(password: string, hash: Pbkdf2Hash): Promise<VerifyResult> {
  const derived = await pbkdf2(password, hash.salt, hash.iterations, hash.key.length);
  if (!equalBytes(derived, hash.key)) return REFUSED;
  const current =
    hash.iterations === PBKDF2_ITERATIONS && hash.salt.length === SALT_BYTES && hash.key.length === KEY_BYTES;
  return { ok: true, needsRehash: !current };
}

/**
 * Checks a password against a stored hash of either kind. Never throws: a malformed or unsupported hash is a
 * wrong password (after the same PBKDF2 work, so it cannot be told apart by time either).
 */
export async function verifyPassword(password: string, stored: string): Promise<VerifyResult> {
  if (!acceptableLength(password) || typeof stored !== "string") return REFUSED;
  try {
    const pbkdf2Hash = parsePbkdf2(stored);
    if (pbkdf2Hash) return await verifyPbkdf2(password, pbkdf2Hash);
    if (bcryptCost(stored) !== undefined) {
      // bcryptjs is plain JavaScript: a cost-12 compare (2^12 Blowfish key setups, ~0.3 s here) is charged to the
      // isolate's CPU time and blocks it; in production the clock stands still while code runs, so bcryptjs's
      // 100 ms time-slicing never yields. Only imported users pay it, once: the route re-hashes on success.
      const ok = await bcryptCompare(password, stored);
      return ok ? { ok: true, needsRehash: true } : REFUSED;
    }
    await verifyAgainstDummy(password);
    return REFUSED;
  } catch {
    return REFUSED;
  }
}

let dummy: Pbkdf2Hash | undefined;

/**
 * For an unknown user: the same PBKDF2 work as verifying a real current hash, so the answer's timing does not tell
 * whether the account exists. The dummy is random bytes made once per isolate; no password derives them.
 */
export async function verifyAgainstDummy(password: string): Promise<void> {
  if (!acceptableLength(password)) return;
  dummy ??= {
    iterations: PBKDF2_ITERATIONS,
    salt: crypto.getRandomValues(new Uint8Array(SALT_BYTES)),
    key: crypto.getRandomValues(new Uint8Array(KEY_BYTES)),
  };
  try {
    await verifyPbkdf2(password, dummy);
  } catch {
    // Same contract as verifyPassword: never throws.
  }
}
