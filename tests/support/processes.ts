// The processes a test started, found by what they carry: a scratch dir in their command line or environment.
import { readdirSync, readFileSync } from "node:fs";

/** `pid: command line` of every process (but this one) whose command line or environment names `marker`. */
export function processesUsing(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
      if (pid !== String(process.pid) && (cmdline.includes(marker) || environ.includes(marker))) {
        found.push(`${pid}: ${cmdline}`);
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}
