// A webhook receiver for the notification tests: a Node HTTP server that verifies every delivery's Standard
// Webhooks signature (with the `standardwebhooks` library, the specification's reference implementation), fails
// the first N deliveries (or all of them) as told, and reports what it accepted.
//   POST /config/<name>  {secret, failFirst?, alwaysFail?}  (re)configures one receiver
//   POST /hook/<name>    a delivery: 401 on a bad signature, 500 while failing, else 204
//   GET  /log/<name>     {attempts, badSignatures, accepted: [{id, payload}]}
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

interface Receiver {
  webhook: Webhook;
  failFirst: number;
  alwaysFail: boolean;
  attempts: number;
  badSignatures: number;
  accepted: { id: string; payload: unknown }[];
}

export interface WebhookReceiver {
  url: string;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function reply(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, body === undefined ? {} : { "content-type": "application/json" });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receivers = new Map<string, Receiver>();
  const server = createServer(async (req, res) => {
    const [, action, name] = (req.url ?? "").split("/");
    const body = await readBody(req);
    if (!name) return reply(res, 404);
    if (req.method === "POST" && action === "config") {
      const config = JSON.parse(body) as { secret: string; failFirst?: number; alwaysFail?: boolean };
      const existing = receivers.get(name);
      receivers.set(name, {
        webhook: new Webhook(config.secret),
        failFirst: config.failFirst ?? 0,
        alwaysFail: config.alwaysFail ?? false,
        attempts: existing?.attempts ?? 0,
        badSignatures: existing?.badSignatures ?? 0,
        accepted: existing?.accepted ?? [],
      });
      return reply(res, 204);
    }
    const receiver = receivers.get(name);
    if (!receiver) return reply(res, 404);
    if (req.method === "GET" && action === "log") {
      const { attempts, badSignatures, accepted } = receiver;
      return reply(res, 200, { attempts, badSignatures, accepted });
    }
    if (req.method !== "POST" || action !== "hook") return reply(res, 404);
    receiver.attempts++;
    let payload: unknown;
    try {
      payload = receiver.webhook.verify(body, req.headers as Record<string, string>);
    } catch {
      receiver.badSignatures++;
      return reply(res, 401);
    }
    if (receiver.alwaysFail || receiver.attempts <= receiver.failFirst) return reply(res, 500);
    receiver.accepted.push({ id: String(req.headers["webhook-id"]), payload });
    return reply(res, 204);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
