// Signing an outgoing request by the Standard Webhooks scheme (standardwebhooks.com): headers webhook-id,
// webhook-timestamp (Unix seconds) and webhook-signature `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`, the key
// being the bytes after `whsec_` in the secret the receiver was given.
import { fromBase64, toBase64 } from "../platform/base64";

export const WEBHOOK_SECRET_PREFIX = "whsec_";

export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${toBase64(crypto.getRandomValues(new Uint8Array(24)))}`;
}

export async function webhookSignatureHeaders(
  secret: string,
  id: string,
  body: string,
  nowMs: number,
): Promise<Record<string, string>> {
  const timestamp = Math.floor(nowMs / 1000).toString();
  const key = await crypto.subtle.importKey(
    "raw",
    fromBase64(secret.slice(WEBHOOK_SECRET_PREFIX.length)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${toBase64(new Uint8Array(mac))}`,
  };
}
