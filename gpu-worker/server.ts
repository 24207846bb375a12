// /health and /metrics over @hono/node-server, for the host's supervisor and Prometheus.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { ffmpegCodecs } from "./audio/ffmpeg";
import type { Metrics } from "./metrics";
import type { LedgerSnapshot } from "./vram";

export interface StatusSource {
  device: string;
  types: readonly string[];
  ledger(): LedgerSnapshot;
  inFlight(): number;
  draining(): boolean;
  /** False until the pinned models are loaded and the lease loop runs. */
  started(): boolean;
  metrics: Metrics;
}

export function healthApp(source: StatusSource): Hono {
  const app = new Hono();
  app.get("/health", (c) => {
    const ledger = source.ledger();
    const draining = source.draining();
    const status = draining ? "draining" : source.started() ? "ok" : "starting";
    return c.json(
      {
        status,
        device: source.device,
        types: source.types,
        jobsInFlight: source.inFlight(),
        vram: { budgetMiB: ledger.budgetMiB, usedMiB: ledger.usedMiB, freeMiB: ledger.freeMiB },
        models: ledger.models,
        // What audio this host can read (transcription input) and write (speech output) besides WAV.
        audio: ffmpegCodecs(),
      },
      status === "ok" ? 200 : 503,
    );
  });
  app.get("/metrics", (c) =>
    c.body(source.metrics.render(source.ledger(), source.inFlight()), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    }),
  );
  return app;
}

export function startHealthServer(
  app: Hono,
  host: string,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info) => {
      resolve({
        url: `http://${host}:${info.port}`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
    server.once("error", reject);
  });
}
