// A first-come-first-served mutex with a bounded wait. PGlite runs one session, so every use of it (an HTTP query
// or batch, the bridge's shutdown) takes this lock.

type Release = () => void;

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

  /** Resolves with a release function once the lock is ours; rejects with LockTimeoutError after `timeoutMs`. */
  acquire(timeoutMs: number): Promise<Release> {
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
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index === -1) return; // already granted: the grant wins
        this.#waiters.splice(index, 1);
        reject(new LockTimeoutError(timeoutMs));
      }, timeoutMs);
      const cleanup = () => clearTimeout(timer);
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
