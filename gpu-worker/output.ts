// A running job's streamed output (llm.chat's tokens) on its way to the edge (docs/llm.md "Streaming from the GPU
// worker"): one post in flight at a time, each carrying every piece that accumulated while the last was on the
// wire, so a fast engine costs fewer posts and a slow one gets each token at once.

/** Characters one post carries at most (the edge's worker body limit is 256 KiB plus room). */
export const MAX_POST_CHARS = 64 * 1024;
/** Pieces one post carries at most (the protocol's JobOutput limit). */
const MAX_POST_PIECES = 4096;

export class OutputSender {
  private queued: string[] = [];
  private sending?: Promise<void>;
  /** After a failed post nothing more is sent: the reader takes the rest from the job's result, which has it all. */
  private broken = false;
  posts = 0;

  constructor(
    private readonly send: (pieces: string[]) => Promise<{ cancel: boolean }>,
    private readonly onCancel: () => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  push(piece: string): void {
    if (this.broken || piece === "") return;
    this.queued.push(piece);
    this.sending ??= this.drain();
  }

  /** Resolves once every piece pushed so far has been posted (or given up on). */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
  }

  private async drain(): Promise<void> {
    while (this.queued.length && !this.broken) {
      let chars = 0;
      let n = 0;
      while (
        n < this.queued.length &&
        n < MAX_POST_PIECES &&
        (n === 0 || chars + (this.queued[n]?.length ?? 0) <= MAX_POST_CHARS)
      ) {
        chars += this.queued[n]?.length ?? 0;
        n++;
      }
      const batch = this.queued.splice(0, n);
      try {
        this.posts++;
        const answer = await this.send(batch);
        if (answer.cancel) this.onCancel();
      } catch (err) {
        this.broken = true;
        this.queued = [];
        this.onError(err);
      }
    }
    this.sending = undefined;
  }
}
