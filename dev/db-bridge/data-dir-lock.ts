// One process per PGlite data dir. PGlite itself takes no lock (it runs Postgres in single-user
// mode, without postmaster.pid), and two processes writing one data dir corrupt it.
// The lock is a pid file beside the data dir, so PGlite never sees a stray file in PGDATA.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";

export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

/** Lock paths held by this process: a pid check cannot tell two bridges in one process apart. */
const heldHere = new Set<string>();

/** A process that was just killed can linger briefly (or as an unreaped zombie): give it this long. */
const OWNER_EXIT_GRACE_MS = 2_000;

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // Linux: a zombie ("Z") still answers kill(0) but holds nothing; the state follows "(comm)".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc here: trust kill(0)
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Takes the lock or throws DataDirLockedError; a lock left by a dead process (kill -9) is taken over. */
export async function lockDataDir(dataDir: string): Promise<() => void> {
  const lockPath = `${dataDir}.lock`;
  if (heldHere.has(lockPath)) {
    throw new DataDirLockedError(`PGlite data dir ${dataDir} is already open in this process`);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, "wx");
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      heldHere.add(lockPath);
      return () => {
        heldHere.delete(lockPath);
        try {
          if (readFileSync(lockPath, "utf8").trim() === String(process.pid)) unlinkSync(lockPath);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let owner = Number.NaN;
    try {
      owner = Number.parseInt(readFileSync(lockPath, "utf8").trim(), 10);
    } catch {
      // Vanished between open and read: retry.
    }
    const ownerGone = !(Number.isInteger(owner) && owner > 0 && owner !== process.pid);
    if (!ownerGone && !(await waitForExit(owner, OWNER_EXIT_GRACE_MS))) {
      throw new DataDirLockedError(
        `PGlite data dir ${dataDir} is in use by process ${owner} (lock file ${lockPath}). ` +
          "Stop that process, or set PGLITE_DIR to another directory.",
      );
    }
    try {
      unlinkSync(lockPath); // stale: its owner is gone
    } catch {
      // Someone else removed it first; the retry decides.
    }
  }
  throw new DataDirLockedError(`could not take the lock ${lockPath} for PGlite data dir ${dataDir}`);
}
