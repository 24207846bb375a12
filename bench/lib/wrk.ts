// wrk (https://github.com/wg/wrk) over a bench scenario, where it is installed: the same server CPU reading
// as the built-in generator (workerd's utime+stime over the run), so the two generators' figures sit side by side.
import { spawn, spawnSync } from "node:child_process";
import type { Scenario } from "./harness";
import { cpuMs } from "./proc";

export interface WrkResult {
  rps: number;
  requests: number;
  serverCpuUsPerReq: number;
  non2xx: number;
}

export function wrkAvailable(): boolean {
  const probe = spawnSync("wrk", ["--version"], { stdio: "ignore" });
  return probe.error === undefined;
}

/** GET scenarios only (wrk needs a Lua script for a body). `threads` as in `wrk -t`. */
export async function runWrk(s: Scenario, threads = 2): Promise<WrkResult | undefined> {
  if (s.load?.method && s.load.method !== "GET") return undefined;
  const seconds = Math.max(1, Math.round(s.durationMs / 1000));
  const args = [`-t${Math.min(threads, s.connections)}`, `-c${s.connections}`, `-d${seconds}s`];
  for (const [name, value] of Object.entries(s.load?.headers ?? {})) args.push("-H", `${name}: ${value}`);
  args.push(new URL(s.path, s.target.url).href);
  const before = cpuMs(s.target.pids);
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`))));
  });
  const serverMs = cpuMs(s.target.pids) - before;
  const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? Number.NaN);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? Number.NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  return { rps, requests, non2xx, serverCpuUsPerReq: (serverMs * 1000) / Math.max(1, requests) };
}
