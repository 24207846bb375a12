// Standard Webhooks signing (https://www.standardwebhooks.com): secrets are `whsec_` + base64 of random bytes;
// the signature is `v1,` + base64(HMAC-SHA256(secret bytes, "<webhook-id>.<webhook-timestamp>.<body>")).
import { fromBase64, toBase64 } from "../platform/base64";

export const WEBHOOK_SECRET_PREFIX = "whsec_";
const encoder = new TextEncoder();

/** A new signing secret: 24 random bytes (the specification asks for 24 to 64). */
export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${toBase64(crypto.getRandomValues(new Uint8Array(24)))}`;
}

/** The `webhook-signature` header value for one message. */
async function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): Promise<string> {
  const keyBytes = fromBase64(secret.slice(WEBHOOK_SECRET_PREFIX.length));
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestampSeconds}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** The three headers of one attempt; a retry signs again with its own timestamp but keeps the id. */
export async function webhookHeaders(secret: string, id: string, body: string): Promise<Record<string, string>> {
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    "content-type": "application/json",
    "user-agent": "Tessera-Webhooks/1",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signWebhook(secret, id, timestamp, body),
  };
}
