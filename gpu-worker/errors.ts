// How a job ends when it cannot complete: the message its owner reads, and whether another attempt could help.

export class JobError extends Error {
  constructor(
    message: string,
    /** true: the board may run the job again (elsewhere, later); false: it fails for good. */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = "JobError";
  }
}

/** A model's files are not on this host: nothing will change on a retry until someone provisions them. */
export class ModelNotProvisioned extends JobError {
  constructor(message: string) {
    super(message, false);
    this.name = "ModelNotProvisioned";
  }
}

/** Bad input for the job type (undecodable audio, an unreadable image): a retry would fail the same way. */
export function invalidInput(message: string): JobError {
  return new JobError(message, false);
}

const OUT_OF_MEMORY = /out of memory|CUDA_ERROR_OUT_OF_MEMORY|cudaErrorMemoryAllocation|failed to allocate|\bOOM\b/i;

/** Whether a load failed for lack of (device) memory, so evicting more and retrying could help. */
export function isOutOfMemory(err: unknown): boolean {
  return OUT_OF_MEMORY.test(err instanceof Error ? err.message : String(err));
}
