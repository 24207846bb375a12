// `node --import tsx dev/lib/guard.ts <command> [args…]`: runs one dev child so that it cannot outlive the runner.
// The runner (dev/lib/processes.ts) starts this guard as the leader of a new process group with a pipe on its
// stdin and never writes to it. The command runs in the guard's group (so wrangler's workerd does too). When the
// pipe closes, the runner is gone, however it died (even SIGKILL): the guard sends SIGTERM to its group, and
// SIGKILL after a grace period. A SIGTERM or SIGINT to the group reaches the command directly; the guard then only
// waits for it and exits with its status. See docs/operations.md.
import { spawn } from "node:child_process";
import { constants } from "node:os";

const GRACE_MS = 8_000;
const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write("guard: usage: guard.ts <command> [args…]\n");
  process.exit(2);
}

const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });
// Signals to the group reach the child by themselves; the guard stays to report its exit.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => {});

child.once("exit", (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
child.once("error", (error) => {
  process.stderr.write(`guard: could not start ${command}: ${error.message}\n`);
  process.exit(127);
});

// The runner's pipe: end or error means the runner is gone.
let orphaned = false;
const onRunnerGone = () => {
  if (orphaned) return;
  orphaned = true;
  process.stderr.write("guard: the dev runner is gone; stopping\n");
  signalGroup("SIGTERM");
  setTimeout(() => signalGroup("SIGKILL"), GRACE_MS).unref();
};
process.stdin.on("end", onRunnerGone);
process.stdin.on("error", onRunnerGone);
process.stdin.on("close", onRunnerGone);
process.stdin.resume();

function signalGroup(signal: NodeJS.Signals): void {
  try {
    process.kill(-process.pid, signal);
  } catch {
    // The group is gone already.
  }
}
