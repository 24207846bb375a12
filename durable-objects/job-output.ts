// A running job's streamed output (docs/llm.md "Streaming from the GPU worker"): the pieces its worker posts
// (llm.chat's tokens), held in the JobBoard's memory and handed to whoever waits on the job (a long-poll read that
// returns as soon as there is something new). Only in memory, like the board's lease waiters: the job's result
// holds the whole text, so a reader that lost pieces to an eviction takes the rest from it, and nothing durable
// depends on this.
import { JOB_LIMITS, type JobRecord, type JobStatus } from "../src/lib/jobs/protocol";

export const OUTPUT_LIMITS = {
  /** Characters kept per job (its result must fit maxResultBytes anyway); pieces beyond are dropped. */
  maxChars: JOB_LIMITS.maxResultBytes,
  /** How long an ended job's pieces stay for a reader still catching up. */
  keepAfterEndMs: 60_000,
  /** The longest one read waits. */
  maxReadWaitMs: 25_000,
} as const;

const ENDED: readonly JobStatus[] = ["completed", "failed", "cancelled", "dead"];

interface Stream {
  /** The lease whose worker posted the pieces: a job leased again (retried, released) streams from the start. */
  lease: string;
  /** Counts the leases that streamed, so a reader notices a restart even when it missed the job's states between. */
  generation: number;
  pieces: string[];
  chars: number;
}

/** Where a reader is: pieces of `generation` it has taken (`after`), and the job status it last saw. */
export interface OutputCursor {
  after: number;
  generation: number;
  status: JobStatus;
}

export interface OutputRead<J extends JobRecord = JobRecord> {
  /** New pieces (of `generation`, from the cursor's `after`, or from 0 when the generation changed). */
  pieces: string[];
  /** The cursor's `after` for the next read. */
  next: number;
  /** 0 until a worker has posted; one more for each lease that posted after another. */
  generation: number;
  job: J;
}

export class JobOutputs {
  private readonly streams = new Map<string, Stream>();
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Adds a worker's pieces (its lease checked by the caller) and wakes the job's readers. */
  append(id: string, lease: string, pieces: string[]): void {
    let stream = this.streams.get(id);
    if (!stream || stream.lease !== lease) {
      stream = { lease, generation: (stream?.generation ?? 0) + 1, pieces: [], chars: 0 };
      this.streams.set(id, stream);
    }
    for (const piece of pieces) {
      if (stream.chars + piece.length > OUTPUT_LIMITS.maxChars) break;
      stream.pieces.push(piece);
      stream.chars += piece.length;
    }
    this.wake(id);
  }

  /** After every status change: readers learn it at once, and an ended job's pieces go after a grace period. */
  changed(job: JobRecord): void {
    this.wake(job.id);
    if (ENDED.includes(job.status) && this.streams.has(job.id)) {
      setTimeout(() => this.streams.delete(job.id), OUTPUT_LIMITS.keepAfterEndMs);
    }
  }

  /**
   * What is new for this cursor, waiting up to `waitMs` for something to be: pieces, another generation, another
   * status. `current` reads the job (null: no such job for this owner).
   */
  async read<J extends JobRecord>(
    id: string,
    cursor: OutputCursor,
    waitMs: number,
    current: () => J | null,
  ): Promise<OutputRead<J> | null> {
    const until = Date.now() + Math.min(Math.max(0, waitMs), OUTPUT_LIMITS.maxReadWaitMs);
    for (;;) {
      const job = current();
      if (!job) return null;
      const stream = this.streams.get(id);
      const generation = stream?.generation ?? 0;
      const from = generation === cursor.generation ? cursor.after : 0;
      const pieces = stream ? stream.pieces.slice(from) : [];
      const news =
        pieces.length > 0 ||
        generation !== cursor.generation ||
        job.status !== cursor.status ||
        ENDED.includes(job.status);
      const left = until - Date.now();
      if (news || left <= 0) return { pieces, next: from + pieces.length, generation, job };
      await this.waitFor(id, left);
    }
  }

  private waitFor(id: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(id);
      if (!set) {
        set = new Set();
        this.waiters.set(id, set);
      }
      const waiters = set;
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  private wake(id: string): void {
    for (const done of [...(this.waiters.get(id) ?? [])]) done();
  }
}
