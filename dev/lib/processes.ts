// Child processes for the dev tooling: prefixed log lines, readiness by polling a URL,
// and a stop that never leaves a child behind (SIGTERM, then SIGKILL after a grace period).
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { createInterface } from "node:readline";

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
  stop(graceMs?: number): Promise<void>;
}

const COLORS = [36, 35, 33, 32, 34];
let nextColor = 0;

interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where prefixed lines go; defaults to this process's stdout. */
  write?: (line: string) => void;
}

export function spawnPrefixed(opts: SpawnOptions): ManagedProcess {
  const color = COLORS[nextColor++ % COLORS.length];
  const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
  const prefix = useColor ? `\x1b[${color}m[${opts.name}]\x1b[0m ` : `[${opts.name}] `;
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so a stop reaches the grandchildren (workerd under wrangler) too.
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", (line) => write(prefix + line));
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
    child.once("error", (err) => {
      write(`${prefix}failed to start: ${err.message}`);
      resolve("spawn-error");
    });
  });
  let stopping: Promise<void> | undefined;
  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is already gone.
    }
  };
  const stop = (graceMs = 8000) => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        signalGroup("SIGKILL"); // leftovers of a child that died on its own
        return;
      }
      signalGroup("SIGTERM");
      const timer = setTimeout(() => signalGroup("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      signalGroup("SIGKILL");
    })();
    return stopping;
  };
  return { name: opts.name, child, exited, stop };
}

/** Polls `url` until it answers (any HTTP status), the process exits, or the timeout passes. */
export async function waitForHttp(url: string, proc: ManagedProcess | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  proc?.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${proc?.name} exited before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${proc?.name ?? url} was not ready after ${timeoutMs} ms`);
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Fails fast with a clear message when a fixed port is already taken. */
export function assertPortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", () =>
      reject(new Error(`Port ${port} (${what}) is already in use; set the variable that overrides it`)),
    );
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}
