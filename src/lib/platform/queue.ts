// The queue consumers: the webhook and analytics queues have their own; the GPU_JOBS consumer validates every
// message against the protocol, then dispatches it by kind.
import { consumeEvents } from "../analytics/events";
import { db } from "../db/client";
import { collectPdfText, reindexFromBlob } from "../files/store";
import { jobBoard } from "../jobs/board";
import { QueueMessage } from "../jobs/protocol";
import { notifyFileIndexed } from "../notifications/file-indexed";
import { consumeWebhookDeadLetters, consumeWebhooks } from "../notifications/webhooks";
import { type Env, getConfig } from "./env";
import { createLogger } from "./log";

type Handler = (message: QueueMessage, env: Env) => Promise<void>;

/** One entry per message kind: a new kind adds its schema to QueueMessage and its handler here. */
const HANDLERS: Record<QueueMessage["kind"], Handler> = {
  // Sent by /health to prove the producer binding; there is nothing to do on arrival.
  "health.ping": async () => {},
  // The board is idempotent by job id, so a redelivered message changes nothing.
  "gpu.job": async (message, env) => {
    if (message.kind === "gpu.job") await jobBoard(env).enqueue(message.job);
  },
  // A large file's text. Skipped when the file is gone or holds newer content, so a redelivery is harmless.
  "files.index": async (message, env) => {
    if (message.kind !== "files.index") return;
    const item = await reindexFromBlob(env, getConfig(env), db(env), message.userId, message.fileId, message.sha256);
    if (item) await notifyFileIndexed(env, message.userId, item);
  },
  // A PDF's extraction for the index: each look either indexes its text or schedules the next look.
  "documents.collect": async (message, env) => {
    if (message.kind !== "documents.collect") return;
    await collectPdfText(env, getConfig(env), db(env), message);
  },
};

/** Queues (by name, wrangler.toml) whose consumer is not the GPU_JOBS one. */
const CONSUMERS: Record<string, (batch: MessageBatch<unknown>, env: Env) => Promise<void>> = {
  "tessera-webhooks": consumeWebhooks,
  "tessera-webhooks-dlq": consumeWebhookDeadLetters,
  "tessera-events": consumeEvents,
};

export async function consumeQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const own = CONSUMERS[batch.queue];
  if (own) return own(batch, env);
  const log = createLogger("info", { queue: batch.queue });
  for (const message of batch.messages) {
    const parsed = QueueMessage.safeParse(message.body);
    if (!parsed.success) {
      // A malformed message never becomes valid: retrying it would only delay the dead-letter queue.
      log.error("dropping invalid queue message", { id: message.id, issues: parsed.error.issues.slice(0, 5) });
      message.ack();
      continue;
    }
    try {
      await HANDLERS[parsed.data.kind](parsed.data, env);
      message.ack();
    } catch (err) {
      log.warn("queue message failed; will retry", {
        id: message.id,
        kind: parsed.data.kind,
        attempts: message.attempts,
        error: err instanceof Error ? err.message : String(err),
      });
      message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
    }
  }
}
