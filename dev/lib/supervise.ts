// Keeps one dev child running: restarted with backoff when it exits on its own, and when its probe (a URL that
// must answer) fails several times in a row, which is how a crashed workerd under a live `wrangler dev`, or a
// frozen process, is noticed. Every restart is logged. See docs/operations.md.
import type { ManagedProcess } from "./processes";

export interface SuperviseOptions {
  name: string;
  /** Starts a fresh process (same ports, same secrets). */
  start: () => ManagedProcess;
  /** Resolves once the fresh process serves; rejects when it does not (that start counts as a failure). */
  ready: (proc: ManagedProcess) => Promise<void>;
  /** true while the process is healthy; called every probeEveryMs once it is ready. */
  probe?: () => Promise<boolean>;
  probeEveryMs?: number;
  /** Consecutive failed probes before a restart (default 3). */
  probeFailures?: number;
  log: (line: string) => void;
  /** First restart delay, doubled per failed start up to maxBackoffMs (defaults 500 ms and 15 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface Supervised {
  readonly name: string;
  /** The process running now (replaced on every restart). */
  readonly current: ManagedProcess;
  /** How many times it has been restarted. */
  readonly restarts: number;
  stop(): Promise<void>;
}

/** A process that stayed up this long is healthy again: the next failure restarts after the initial delay. */
const STABLE_MS = 30_000;

/** Starts the process, waits until it is ready (rejecting if the first start fails), then keeps it running. */
export async function supervise(opts: SuperviseOptions): Promise<Supervised> {
  const initial = opts.initialBackoffMs ?? 500;
  const max = opts.maxBackoffMs ?? 15_000;
  let current = opts.start();
  try {
    await opts.ready(current);
  } catch (error) {
    await current.stop();
    throw error;
  }
  let stopping = false;
  let restarts = 0;
  let backoff = initial;
  const sleeping = new Set<() => void>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleeping.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleeping.add(wake);
    });

  const probeLoop = async (proc: ManagedProcess) => {
    if (!opts.probe) return;
    let failures = 0;
    let exited = false;
    void proc.exited.then(() => {
      exited = true;
    });
    while (!stopping && !exited) {
      await sleep(opts.probeEveryMs ?? 2_000);
      if (stopping || exited) return;
      failures = (await opts.probe().catch(() => false)) ? 0 : failures + 1;
      if (failures >= (opts.probeFailures ?? 3)) {
        opts.log(`[dev] ${opts.name} does not answer (${failures} probes); restarting it`);
        await proc.stop(2_000);
        return;
      }
    }
  };

  const keepRunning = async () => {
    for (;;) {
      const proc = current;
      const startedAt = Date.now();
      void probeLoop(proc);
      const code = await proc.exited;
      if (stopping) return;
      await proc.stop(); // leftovers of its group (e.g. a workerd whose wrangler died)
      if (Date.now() - startedAt > STABLE_MS) backoff = initial;
      for (;;) {
        opts.log(`[dev] ${opts.name} exited (${code}); restarting in ${backoff} ms`);
        await sleep(backoff);
        if (stopping) return;
        backoff = Math.min(backoff * 2, max);
        restarts++;
        current = opts.start();
        try {
          await opts.ready(current);
          opts.log(`[dev] ${opts.name} is back (restart ${restarts})`);
          break;
        } catch (error) {
          opts.log(`[dev] ${opts.name} did not come back: ${error instanceof Error ? error.message : String(error)}`);
          await current.stop();
          if (stopping) return;
        }
      }
    }
  };
  const running = keepRunning();

  return {
    name: opts.name,
    get current() {
      return current;
    },
    get restarts() {
      return restarts;
    },
    async stop() {
      stopping = true;
      for (const wake of [...sleeping]) wake();
      await current.stop();
      await running;
    },
  };
}
