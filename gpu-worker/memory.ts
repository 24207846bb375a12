// What the device really uses, to check the models' declared sizes against: nvidia-smi on CUDA hosts (this process's
// compute memory and the card's free memory), the process's resident memory on CPU workers.
import { execFile } from "node:child_process";
import type { Log } from "./log";

export interface MemoryProbe {
  /** MiB this process uses on the device now, or undefined when it cannot be measured. */
  processMiB(): Promise<number | undefined>;
  /** MiB free on the whole device (other processes included), or undefined. */
  deviceFreeMiB(): Promise<number | undefined>;
  readonly source: string;
}

export type Exec = (file: string, args: string[]) => Promise<string>;

const execText: Exec = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 5_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });

/** The process's resident set: on a CPU worker, model weights live in RAM. */
export function cpuProbe(): MemoryProbe {
  return {
    source: "process-rss",
    processMiB: async () => Math.round(process.memoryUsage().rss / 2 ** 20),
    deviceFreeMiB: async () => undefined,
  };
}

/** nvidia-smi's view: per-process compute memory and the card's free memory. Missing nvidia-smi: logged once. */
export function nvidiaSmiProbe(log: Log, exec: Exec = execText, pid = process.pid): MemoryProbe {
  let warned = false;
  const run = async (args: string[]): Promise<string | undefined> => {
    try {
      return await exec("nvidia-smi", args);
    } catch (err) {
      if (!warned) {
        warned = true;
        log.warn("nvidia-smi failed: VRAM is not measured, the ledger uses the declared sizes", {
          error: err instanceof Error ? err.message : String(err),
        });
      }
      return undefined;
    }
  };
  return {
    source: "nvidia-smi",
    async processMiB() {
      const out = await run(["--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"]);
      if (out === undefined) return undefined;
      let total = 0;
      for (const line of out.split("\n")) {
        const [p, used] = line.split(",").map((s) => s.trim());
        if (Number(p) === pid && Number.isFinite(Number(used))) total += Number(used);
      }
      return total;
    },
    async deviceFreeMiB() {
      const out = await run(["--query-gpu=memory.free", "--format=csv,noheader,nounits"]);
      const free = out === undefined ? Number.NaN : Number(out.split("\n")[0]?.trim());
      return Number.isFinite(free) ? free : undefined;
    },
  };
}
