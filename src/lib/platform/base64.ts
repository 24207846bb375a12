// Base64 for bytes, in chunks (String.fromCharCode over a whole large array overflows the call stack).
const CHUNK = 0x8000;

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(binary);
}

/** URL- and filename-safe, unpadded (RFC 4648 §5): for tokens, tags and cursors. */
export function toBase64url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Strict unpadded base64url (RFC 4648 §5) to bytes: only the URL alphabet, no `=`, and the one canonical spelling of
 * the bytes (unused trailing bits zero), so a signature has exactly one accepted form. Throws on anything else.
 */
export function fromBase64urlStrict(value: string): Uint8Array {
  if (!BASE64URL.test(value) || value.length % 4 === 1) throw new Error("not canonical base64url");
  const bytes = fromBase64(value);
  if (toBase64url(bytes) !== value) throw new Error("not canonical base64url");
  return bytes;
}

/** Standard or URL-safe base64 to bytes; throws on anything else. */
export function fromBase64(value: string): Uint8Array {
  const binary = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}
