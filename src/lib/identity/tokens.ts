// Opaque secrets (refresh tokens, tickets): random bytes out, only their hashes stored.
import { toBase64url } from "../platform/base64";

const encoder = new TextEncoder();

export function randomToken(prefix: string, bytes = 32): string {
  return `${prefix}${toBase64url(crypto.getRandomValues(new Uint8Array(bytes)))}`;
}

/** Hex SHA-256: how opaque tokens are stored and looked up (they carry 256 bits, so no salt or KDF is needed). */
export async function sha256Hex(value: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(value)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A new opaque credential and the hash to store in its place (GPU worker and service credentials, tickets):
 * the secret is shown to its holder once and never kept.
 */
export async function newSecret(prefix: string): Promise<{ secret: string; hash: string }> {
  const secret = randomToken(prefix);
  return { secret, hash: await sha256Hex(secret) };
}

/** HMAC-SHA256(key, message) as base64url. */
export async function hmacBase64url(key: string, message: string): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return toBase64url(new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message))));
}

/**
 * Compares two secrets in time that depends on neither's content: both are hashed first,
 * so lengths do not leak either, then the digests are compared with the runtime's constant-time primitive.
 */
export async function timingSafeEqualStrings(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(da, db);
}
