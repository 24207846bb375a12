// A real `ws` client for the hub's end-to-end tests: keeps every frame it receives, in order.
import WebSocket from "ws";
import type { HubFrame } from "../../src/lib/hub/frames";

/** An open socket that keeps every frame it receives, in order. */
export class Client {
  readonly frames: HubFrame[] = [];
  closeCode: number | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const text = data.toString();
      // "pong" (the auto-response to "ping") is the one frame that is not JSON.
      if (text !== "pong") this.frames.push(JSON.parse(text) as HubFrame);
    });
    ws.on("close", (code) => {
      this.closeCode = code;
    });
  }

  /**
   * Opens `room` on the Worker at `base` (http://…), with the token as the subprotocol. `closeTimeout`: how
   * long `ws` waits, once both close frames are exchanged, for the server to end the TCP connection.
   */
  static open(base: string, room: string, token: string, query = "", closeTimeout?: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const url = `${base.replace(/^http/, "ws")}/v1/hub/rooms/${room}${query}`;
      // ws 8 takes closeTimeout; @types/ws does not list it yet.
      const options: WebSocket.ClientOptions & { closeTimeout?: number } = closeTimeout ? { closeTimeout } : {};
      const ws = new WebSocket(url, ["tessera.hub.v1", `bearer.${token}`], options);
      const client = new Client(ws);
      ws.once("open", () => resolve(client));
      ws.once("unexpected-response", (req, res) => {
        reject(new Error(`HTTP ${res.statusCode}`));
        req.destroy();
      });
      ws.on("error", reject);
    });
  }

  async until(match: (f: HubFrame) => boolean, ms = 5000): Promise<HubFrame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.frames.find(match);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching frame in ${JSON.stringify(this.frames)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async closed(ms = 5000): Promise<number> {
    const deadline = Date.now() + ms;
    while (this.closeCode === undefined) {
      if (Date.now() > deadline) throw new Error("the socket stayed open");
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closeCode;
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  close(): Promise<number> {
    this.ws.close(1000);
    return this.closed();
  }
}

/** The HTTP status an upgrade is refused with. */
export function refusal(url: string, protocols: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once("unexpected-response", (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    // Destroying the request makes ws report an error too; the status above is the answer.
    ws.on("error", () => {});
    ws.once("open", () => reject(new Error("the upgrade was accepted")));
  });
}

export const joinOf = (userId: string) => (f: HubFrame) =>
  f.type === "presence" && (f.data as { event: string; user: { id: string } }).user.id === userId;
export const chats = (c: Client) => c.frames.filter((f) => f.type === "chat");
