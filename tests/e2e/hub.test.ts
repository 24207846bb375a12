// The hub over real sockets: `ws` clients against `wrangler dev`, users signed up over HTTP.
// (Eviction and wake-up are proved in tests/workers/hub.test.ts, where the objects can be aborted.)
import { beforeAll, describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import type { HubFrame } from "../../src/lib/protocol";
import { deleteAdmin, signUp, signUpAdmin, type User, unique } from "./users";

const base = inject("workerUrl");
const wsBase = base.replace(/^http/, "ws");

/** An open socket that keeps every frame it receives, in order. */
class Client {
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

  static open(room: string, token: string, query = ""): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${wsBase}/v1/hub/rooms/${room}${query}`, [`bearer.${token}`]);
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
function refusal(url: string, protocols: string[] = []): Promise<number> {
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

const joinOf = (userId: string) => (f: HubFrame) =>
  f.type === "presence" && (f.data as { event: string; user: { id: string } }).user.id === userId;
const chats = (c: Client) => c.frames.filter((f) => f.type === "chat");

let alice: User;
let bob: User;
let carol: User;

beforeAll(async () => {
  [alice, bob, carol] = await Promise.all([signUp(), signUp(), signUp()]);
});

describe("authentication before the upgrade", () => {
  it("refuses a socket without a token with 401", async () => {
    expect(await refusal(`${wsBase}/v1/hub/rooms/public:lobby`)).toBe(401);
  });

  it("refuses someone else's user: channel with 403", async () => {
    expect(await refusal(`${wsBase}/v1/hub/rooms/user:${bob.id}`, [`bearer.${alice.token}`])).toBe(403);
  });

  it("accepts a single-use ticket once", async () => {
    const res = await fetch(`${base}/v1/hub/tickets`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice.token}` },
    });
    const { ticket } = (await res.json()) as { ticket: string };
    const url = `${wsBase}/v1/hub/rooms/public:tickets?ticket=${ticket}`;
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    ws.close();
    expect(await refusal(url)).toBe(401);
  });
});

describe("a room", () => {
  it("delivers a chat to three clients in order with increasing seq, typing to the others only, and presence on leave", async () => {
    const room = unique("public:chat");
    const a = await Client.open(room, alice.token);
    await a.until(joinOf(alice.id));
    const b = await Client.open(room, bob.token);
    await a.until(joinOf(bob.id));
    const c = await Client.open(room, carol.token);
    await a.until(joinOf(carol.id));
    const joinedCarol = await c.until(joinOf(carol.id));
    expect((joinedCarol.data as { members: { id: string }[] }).members.map((m) => m.id).sort()).toEqual(
      [alice.id, bob.id, carol.id].sort(),
    );

    a.send({ type: "typing" });
    for (const text of ["one", "two", "three"]) a.send({ type: "chat", data: { text } });
    for (const client of [a, b, c]) await client.until((f) => f.type === "chat" && f.seq === 3);
    for (const client of [a, b, c]) {
      expect(chats(client).map((f) => [f.seq, (f.data as { text: string }).text, f.from?.id])).toEqual([
        [1, "one", alice.id],
        [2, "two", alice.id],
        [3, "three", alice.id],
      ]);
    }
    expect(b.frames.some((f) => f.type === "typing" && f.from?.id === alice.id)).toBe(true);
    expect(c.frames.some((f) => f.type === "typing")).toBe(true);
    expect(a.frames.some((f) => f.type === "typing")).toBe(false);

    await c.close();
    const leave = await a.until((f) => f.type === "presence" && (f.data as { event: string }).event === "leave");
    expect(leave.data).toMatchObject({ user: { id: carol.id } });
    expect((leave.data as { members: { id: string }[] }).members.map((m) => m.id).sort()).toEqual(
      [alice.id, bob.id].sort(),
    );
    await a.close();
    await b.close();
  });

  it("replays exactly the missed messages to a client reconnecting with since, before new ones", async () => {
    const room = unique("public:resume");
    const a = await Client.open(room, alice.token);
    const b = await Client.open(room, bob.token);
    a.send({ type: "chat", data: 1 });
    await b.until((f) => f.seq === 1);
    await b.close();
    a.send({ type: "chat", data: 2 });
    a.send({ type: "chat", data: 3 });
    await a.until((f) => f.seq === 3);
    const again = await Client.open(room, bob.token, "?since=1");
    await again.until(joinOf(bob.id));
    a.send({ type: "chat", data: 4 });
    await again.until((f) => f.seq === 4);
    expect(chats(again).map((f) => [f.seq, f.data])).toEqual([
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
    expect(again.frames.findIndex((f) => f.seq === 3)).toBeLessThan(again.frames.findIndex(joinOf(bob.id)));
    await again.close();
    await a.close();
  });

  it("answers an oversized frame with an error frame and keeps the socket open", async () => {
    const a = await Client.open(unique("public:big"), alice.token);
    await a.until(joinOf(alice.id));
    a.send({ type: "chat", data: "x".repeat(65 * 1024) });
    const error = await a.until((f) => f.type === "error");
    expect(error.data).toMatchObject({ error: { code: "payload_too_large" } });
    a.send({ type: "chat", data: "small" });
    expect(await a.until((f) => f.type === "chat")).toMatchObject({ data: "small", seq: 1 });
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
    await a.close();
  });

  it("closes a flooding socket with 1008 after rate-limit error frames", async () => {
    const a = await Client.open(unique("public:flood"), alice.token);
    await a.until(joinOf(alice.id));
    for (let i = 0; i < 200; i++) a.send({ type: "typing" });
    expect(await a.closed()).toBe(1008);
    expect(a.frames.find((f) => f.type === "error")?.data).toMatchObject({ error: { code: "rate_limited" } });
  });

  it("answers the text ping with pong (the runtime's auto-response)", async () => {
    const a = await Client.open(unique("public:ping"), alice.token);
    await a.until(joinOf(alice.id));
    const reply = new Promise<string>((resolve) => a.ws.on("message", (d) => resolve(d.toString())));
    a.ws.send("ping");
    expect(await reply).toBe("pong");
    await a.close();
  });
});

/** Bob listens on his own channel while an admin publishes to it over HTTP. */
async function publishAsAdmin(admin: User): Promise<void> {
  const channel = `user:${bob.id}`;
  const b = await Client.open(channel, bob.token);
  await b.until(joinOf(bob.id));
  const res = await fetch(`${base}/v1/hub/rooms/${channel}/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
    body: JSON.stringify({ data: { kind: "job.progress", percent: 50 } }),
  });
  expect(res.status).toBe(202);
  const { seq } = (await res.json()) as { seq: number };
  expect(await b.until((f) => f.type === "event")).toMatchObject({
    room: channel,
    seq,
    data: { kind: "job.progress", percent: 50 },
  });
  const stats = await fetch(`${base}/v1/hub/rooms/${channel}`, { headers: { authorization: `Bearer ${bob.token}` } });
  expect(await stats.json()).toEqual({ room: channel, online: 1, lastSeq: seq });
  await b.close();
}

describe("service publishing", () => {
  it("delivers an admin's HTTP publish to user:<id>, and stats count the socket", async () => {
    const admin = await signUpAdmin();
    try {
      await publishAsAdmin(admin);
    } finally {
      await deleteAdmin(admin);
    }
  });
});
