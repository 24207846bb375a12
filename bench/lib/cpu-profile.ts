// A CPU profile of a Worker on workerd through its DevTools inspector (Miniflare's `inspectorPort`): V8's
// sampling profiler over the Chrome DevTools Protocol, summed into self time per function.
import WebSocket from "ws";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileEntry {
  /** `name file:line` ("(anonymous)" where V8 has no name). */
  label: string;
  /** Share of all samples spent in this function itself. */
  selfPct: number;
  /** Share of samples with this function anywhere on the stack (a recursive frame counted once). */
  totalPct: number;
}

/** Connects to the Worker's inspector target and runs the sampling profiler until `stop()`. */
export async function startCpuProfile(
  inspectorPort: number,
  workerName: string,
  samplingIntervalUs = 100,
): Promise<{ stop(): Promise<CpuProfile> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${inspectorPort}/core:user:${workerName}`);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (msg.id === undefined) return;
    const waiter = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) waiter?.reject(new Error(msg.error.message));
    else waiter?.resolve(msg.result);
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: samplingIntervalUs });
  await send("Profiler.start");
  return {
    async stop() {
      const result = (await send("Profiler.stop")) as { profile: CpuProfile };
      ws.close();
      return result.profile;
    },
  };
}

function labelOf(frame: CallFrame): string {
  const file = frame.url ? (frame.url.split("/").pop() ?? frame.url) : "";
  const name = frame.functionName || "(anonymous)";
  return file ? `${name} ${file}:${frame.lineNumber + 1}` : name;
}

/** Self and total time per function, the largest self times first. */
export function summarizeProfile(profile: CpuProfile, top = 20): { samples: number; entries: ProfileEntry[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let samples = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    samples += hits;
    const label = labelOf(n.callFrame);
    self.set(label, (self.get(label) ?? 0) + hits);
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (!node) break;
      const l = labelOf(node.callFrame);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + hits);
    }
  }
  const pct = (v: number) => (samples ? (100 * v) / samples : 0);
  const entries = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([label, hits]) => ({ label, selfPct: pct(hits), totalPct: pct(total.get(label) ?? 0) }));
  return { samples, entries };
}
