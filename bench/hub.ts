import WebSocket from "ws";
import type { HubFrame } from "../src/lib/hub/frames";
import { beginBench, envInt, failBench, log, registerBenchUser, settings, startBenchTessera } from "./lib/common";
import { cpuMs, median, type Target } from "./lib/harness";
import { percentile } from "./lib/load";

const NAME = "bench:hub";
/** BENCH_HUB_CLIENTS (the room's size) and BENCH_HUB_SENDERS (how many of them chat, each one message in flight). */
const CLIENTS = envInt("BENCH_HUB_CLIENTS", 200, 1, 1000);
const SENDERS = envInt("BENCH_HUB_SENDERS", 10, 1, 200);

interface Member {
  ws: WebSocket;
  id: string;
}

/** `n` registered users, a few registrations at a time (each runs the password KDF). */
async function registeredUsers(target: Target, n: number): Promise<{ id: string; token: string }[]> {
  const out: { id: string; token: string }[] = [];
  for (let i = 0; i < n; i += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, n - i) }, async () => {
        const { accessToken, user } = await registerBenchUser(target);
        return { id: user.id, token: accessToken };
      }),
    );
    out.push(...batch);
  }
  return out;
}

/** Opens every socket at once; resolves when each has seen its own join. */
async function connectAll(target: Target, room: string, users: { id: string; token: string }[]): Promise<Member[]> {
  const url = `${target.url.replace(/^http/, "ws")}v1/hub/rooms/${room}`;
  return Promise.all(
    users.map(
      (u) =>
        new Promise<Member>((resolve, reject) => {
          const ws = new WebSocket(url, ["tessera.hub.v1", `bearer.${u.token}`]);
          ws.on("message", function joined(data) {
            const f = JSON.parse(data.toString()) as HubFrame;
            if (f.type === "presence" && (f.data as { user: { id: string } }).user.id === u.id) {
              ws.off("message", joined);
              resolve({ ws, id: u.id });
            }
          });
          ws.once("error", reject);
        }),
    ),
  );
}

interface FanOut {
  deliveriesPerSecond: number;
  messagesPerSecond: number;
  p50: number;
  p99: number;
  serverCpuUsPerDelivery: number;
}

/** SENDERS of the members chat in a closed loop (next message on their own echo) for the measured window. */
async function fanOut(target: Target, members: Member[], senders: number): Promise<FanOut> {
  const latencies: number[] = [];
  let deliveries = 0;
  let measuring = false;
  const onMessage = (data: WebSocket.RawData) => {
    const f = JSON.parse(data.toString()) as HubFrame;
    if (f.type !== "chat" || !measuring) return;
    deliveries++;
    latencies.push(performance.now() - (f.data as { t: number }).t);
  };
  for (const m of members) m.ws.on("message", onMessage);
  let running = true;
  const loops = members.slice(0, senders).map(
    (m) =>
      new Promise<void>((resolve) => {
        const send = () =>
          running ? m.ws.send(JSON.stringify({ type: "chat", data: { t: performance.now() } })) : resolve();
        m.ws.on("message", (data) => {
          const f = JSON.parse(data.toString()) as HubFrame;
          if (f.type === "chat" && f.from?.id === m.id) send();
        });
        send();
      }),
  );
  await new Promise((r) => setTimeout(r, settings.warmupMs));
  const cpuBefore = cpuMs(target.pids);
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, settings.durationMs));
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuMs(target.pids) - cpuBefore;
  running = false;
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 2000))]);
  for (const m of members) m.ws.removeAllListeners("message");
  latencies.sort((a, b) => a - b);
  return {
    deliveriesPerSecond: deliveries / seconds,
    messagesPerSecond: deliveries / members.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    serverCpuUsPerDelivery: deliveries ? (cpu * 1000) / deliveries : 0,
  };
}

async function main(): Promise<void> {
  const end = beginBench(NAME, 300_000);
  log(`hub: ${CLIENTS} clients in one room, ${SENDERS} of them chatting (one message in flight each)`);
  // The bench measures fan-out, not the per-socket flood limit.
  const suite = await startBenchTessera("tessera-bench-hub", { HUB_MESSAGES_PER_SECOND: "10000" });
  const target = suite.tessera;
  try {
    const users = await registeredUsers(target, CLIENTS);
    const rounds: { connectMs: number; crowd: FanOut; alone: FanOut }[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      const aloneMembers = await connectAll(target, `public:alone${round}`, users.slice(0, 1));
      const alone = await fanOut(target, aloneMembers, 1);
      for (const m of aloneMembers) m.ws.close();
      const t0 = performance.now();
      const members = await connectAll(target, `public:bench${round}`, users);
      const connectMs = performance.now() - t0;
      const crowd = await fanOut(target, members, SENDERS);
      for (const m of members) m.ws.close();
      rounds.push({ connectMs, crowd, alone });
      log(
        `round ${round}: connect ${CLIENTS} in ${connectMs.toFixed(0)} ms; ${Math.round(crowd.deliveriesPerSecond)} deliveries/s ` +
          `(${Math.round(crowd.messagesPerSecond)} msgs/s), p50 ${crowd.p50.toFixed(2)} ms, p99 ${crowd.p99.toFixed(2)} ms; ` +
          `alone: ${Math.round(alone.deliveriesPerSecond)} msgs/s, p50 ${alone.p50.toFixed(2)} ms`,
      );
    }
    const med = (f: (r: (typeof rounds)[number]) => number) => median(rounds.map(f));
    const summary = {
      clients: CLIENTS,
      senders: SENDERS,
      connectAllMs: Math.round(med((r) => r.connectMs)),
      // Round 1 creates every user's HubConnections object; the later rounds find them.
      connectFirstRoundMs: Math.round(rounds[0]?.connectMs ?? 0),
      connectLaterRoundsMs: Math.round(median(rounds.slice(1).map((r) => r.connectMs))),
      deliveriesPerSecond: Math.round(med((r) => r.crowd.deliveriesPerSecond)),
      messagesPerSecond: Math.round(med((r) => r.crowd.messagesPerSecond)),
      latencyP50Ms: Number(med((r) => r.crowd.p50).toFixed(2)),
      latencyP99Ms: Number(med((r) => r.crowd.p99).toFixed(2)),
      serverCpuUsPerDelivery: Number(med((r) => r.crowd.serverCpuUsPerDelivery).toFixed(1)),
      baselineAloneMessagesPerSecond: Math.round(med((r) => r.alone.deliveriesPerSecond)),
      baselineAloneP50Ms: Number(med((r) => r.alone.p50).toFixed(2)),
    };
    log();
    log(`medians of ${settings.rounds} rounds:`);
    log(JSON.stringify({ bench: NAME, ...summary }));
  } finally {
    await suite.close();
    end();
  }
}

main().catch(failBench(NAME));
