// The gateway benches' upstream: tests/support/upstream.ts in its own Node process (bench/lib/upstream-process.ts),
// so the load generator and the upstream do not share a thread. Its pid is the target's, for its CPU.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { ROOT } from "../../dev/lib/suite";
import type { Target } from "./harness";

export async function startUpstream(): Promise<Target> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/lib/upstream-process.ts"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line.startsWith("UPSTREAM ")) resolve(line.slice("UPSTREAM ".length));
    });
    child.once("exit", (code) => reject(new Error(`upstream exited (${code})`)));
  });
  return {
    name: "upstream",
    url: `${url}/`,
    pids: child.pid ? [child.pid] : [],
    close: async () => {
      child.kill("SIGTERM");
    },
  };
}
