// Short-lived signed URLs: a capability for one GET until an expiry, checked without a lookup. The HMAC key is
// derived (HKDF, with a label per use) from the token-signing secret, so no new secret has to be provisioned and a
// signed URL can never be replayed as anything else.
import { fromBase64urlStrict, toBase64url } from "./base64";

const encoder = new TextEncoder();
/** Derived keys per secret and label: HKDF runs once per isolate, not once per URL. */
const keys = new Map<string, Promise<CryptoKey>>();

function derivedKey(secret: string, label: string): Promise<CryptoKey> {
  const id = `${label}\n${secret}`;
  let key = keys.get(id);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: encoder.encode("tessera signed url"), info: encoder.encode(label) },
          base,
          { name: "HMAC", hash: "SHA-256", length: 256 },
          false,
          ["sign", "verify"],
        ),
      );
    keys.set(id, key);
  }
  return key;
}

const message = (path: string, params: Record<string, string>, expiresAt: number) =>
  encoder.encode([path, ...Object.entries(params).map(([k, v]) => `${k}=${v}`), String(expiresAt)].join("\n"));

/** `origin + path` with `params`, `expires` (epoch ms) and `sig` in its query. */
export async function signUrl(
  secret: string,
  label: string,
  origin: string,
  path: string,
  params: Record<string, string>,
  expiresAt: number,
): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await derivedKey(secret, label), message(path, params, expiresAt));
  const query = new URLSearchParams({ ...params, expires: String(expiresAt), sig: toBase64url(new Uint8Array(mac)) });
  return `${origin}${path}?${query}`;
}

/** Whether `sig` signs exactly this path, these params and this expiry, and the expiry has not passed. */
export async function verifySignedUrl(
  secret: string,
  label: string,
  path: string,
  params: Record<string, string>,
  expiresAt: number,
  sig: string,
  now = Date.now(),
): Promise<boolean> {
  if (!(expiresAt > now)) return false;
  let mac: Uint8Array;
  try {
    // Only the spelling signUrl writes: a padded, standard-alphabet or otherwise re-spelled signature is a
    // different URL for caches and logs, and is refused (docs/security.md).
    mac = fromBase64urlStrict(sig);
  } catch {
    return false;
  }
  // crypto.subtle.verify compares in constant time.
  return crypto.subtle.verify("HMAC", await derivedKey(secret, label), mac, message(path, params, expiresAt));
}
