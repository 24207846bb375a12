// A real upstream for the gateway's tests: a small Node HTTP (and WebSocket) server with routes that
// behave well and badly, and a second server that can be switched off and on to test the breaker.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { WebSocketServer } from "ws";

export interface TestUpstream {
  url: string;
  port: number;
  /** A server that the test can stop and start again on the same port (see /control/flappy/*). */
  flappyUrl: string;
  /** A port where nothing listens. */
  deadUrl: string;
  close(): Promise<void>;
}

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export async function startTestUpstream(): Promise<TestUpstream> {
  const sockets = new Set<Socket>();
  const held: ServerResponse[] = [];
  let releaseStream: (() => void) | undefined;
  const dropped = new Set<string>();

  // The breaker test's upstream: answers /health and /ok while on.
  const flappy = createServer((req, res) => json(res, 200, { ok: true, path: req.url }));
  const flappyPort = await listen(flappy);
  let flappyOn = true;

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://upstream");
    const path = url.pathname;
    if (path === "/health") return json(res, 200, { status: "ok" });
    if (path === "/fail500") return json(res, 500, { error: "upstream exploded" });
    if (path.startsWith("/drop-first/")) {
      // The first request for each key loses its connection before any answer; the next one succeeds.
      if (!dropped.has(path)) {
        dropped.add(path);
        req.socket.destroy();
        return;
      }
      return json(res, 200, { path, method: req.method, afterDrop: true });
    }
    if (path === "/bytes") {
      // `size` bytes of a counting pattern with the Content-Type `type`: a download for {url} job input.
      const size = Math.min(Number(url.searchParams.get("size") ?? "0"), 16 * 1024 * 1024);
      res.writeHead(200, { "content-type": url.searchParams.get("type") ?? "application/octet-stream" });
      return res.end(Buffer.from(Array.from({ length: size }, (_, i) => i % 256)));
    }
    if (path === "/powered") {
      // What an old Express service answers: a framework banner, two cookies, and a header of its own.
      res.setHeader("x-powered-by", "Express");
      res.setHeader("set-cookie", ["a=1; Path=/", "b=2; Path=/"]);
      res.setHeader("x-upstream", "kept");
      return json(res, 200, { powered: true });
    }
    if (path === "/redirect") {
      res.writeHead(302, { location: url.searchParams.get("to") ?? "/" });
      return res.end();
    }
    if (path === "/hang") {
      held.push(res); // never answered; closed when the server closes
      return;
    }
    if (path === "/stream") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first chunk\n");
      // The rest waits until the test has seen the first chunk and calls /control/release.
      releaseStream = () => res.end("last chunk\n");
      return;
    }
    if (path === "/control/release") {
      releaseStream?.();
      return json(res, 200, { released: Boolean(releaseStream) });
    }
    if (path === "/control/flappy/stop" && flappyOn) {
      flappyOn = false;
      flappy.closeAllConnections();
      await new Promise<void>((r) => flappy.close(() => r()));
      return json(res, 200, { flappy: "off" });
    }
    if (path === "/control/flappy/start" && !flappyOn) {
      await listen(flappy, flappyPort);
      flappyOn = true;
      return json(res, 200, { flappy: "on" });
    }
    // Everything else echoes what arrived, so tests can see what the gateway forwarded.
    const body = await readBody(req);
    return json(res, 200, {
      method: req.method,
      path,
      query: url.search,
      headers: req.headers,
      body,
      bytes: Buffer.byteLength(body),
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ hello: req.url, userId: req.headers["x-user-id"] ?? null }));
      ws.on("message", (data) => ws.send(`echo:${data.toString()}`));
    });
  });
  const port = await listen(server);
  const deadServer = createServer();
  const deadPort = await listen(deadServer);
  await new Promise<void>((r) => deadServer.close(() => r()));

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    flappyUrl: `http://127.0.0.1:${flappyPort}`,
    deadUrl: `http://127.0.0.1:${deadPort}`,
    async close() {
      for (const res of held) res.destroy();
      for (const s of sockets) s.destroy();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((r) => server.close(() => r()));
      if (flappyOn) {
        flappy.closeAllConnections();
        await new Promise<void>((r) => flappy.close(() => r()));
      }
    },
  };
}

/** The GATEWAY_ROUTES that the tests use against a test upstream. */
export function testGatewayRoutes(upstream: TestUpstream): string {
  return JSON.stringify({
    "/api/chat": { upstream: upstream.url, timeoutMs: 1500 },
    "/api/vectors": { upstream: upstream.deadUrl },
    "/api/analytics": { upstream: upstream.flappyUrl },
    "/api/assistant": { upstream: upstream.url, auth: "public" },
    "/api/llm": { upstream: upstream.url, weight: 50 },
  });
}
