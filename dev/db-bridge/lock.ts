// A first-come-first-served mutex with a bounded wait. PGlite runs one session, so every use of it
// (an HTTP query or batch, a relayed transaction, the reset after a relayed session) takes this lock.

export type Release = () => void;

/** Thrown when the lock could not be had in time; carries the SQLSTATE the bridge reports for it. */
export class LockTimeoutError extends Error {
  readonly code = "55P03"; // lock_not_available: the nearest Postgres meaning, and clients already handle it
  constructor(waitedMs: number) {
    super(
      `db-bridge: waited ${waitedMs} ms for the database; PGlite runs one transaction at a time and another one is still open`,
    );
    this.name = "LockTimeoutError";
  }
}

interface Waiter {
  grant(release: Release): void;
}

export class Mutex {
  #held = false;
  #waiters: Waiter[] = [];

  get locked(): boolean {
    return this.#held;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Resolves with a release function once the lock is ours. Rejects with LockTimeoutError after
   * `timeoutMs`, or with the signal's reason when aborted (a client that left while waiting).
   */
  acquire(timeoutMs: number, signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(this.#releaser());
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        grant: (release) => {
          cleanup();
          resolve(release);
        },
      };
      const drop = (error: unknown) => {
        const index = this.#waiters.indexOf(waiter);
        if (index === -1) return; // already granted: the grant wins
        this.#waiters.splice(index, 1);
        cleanup();
        reject(error);
      };
      const timer = setTimeout(() => drop(new LockTimeoutError(timeoutMs)), timeoutMs);
      const onAbort = () => drop(signal?.reason);
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #releaser(): Release {
    let released = false;
    return () => {
      // A second call would hand the lock to two holders at once.
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next.grant(this.#releaser());
      else this.#held = false;
    };
  }
}
