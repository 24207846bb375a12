// The per-socket message limit of the hub: a token bucket of HUB_MESSAGES_PER_SECOND (that many at once,
// refilled at that rate), and a verdict on what to do with a frame over it.

type FloodVerdict = "allow" | "reject" | "close";

/** How long rejected frames are counted before the count starts again, in ms. */
export const FLOOD_WINDOW_MS = 5_000;

export class FloodGuard {
  private tokens: number;
  private updatedAt: number;
  private rejected = 0;
  private windowStart = 0;

  constructor(
    private readonly perSecond: number,
    now = Date.now(),
  ) {
    this.tokens = perSecond;
    this.updatedAt = now;
  }

  /**
   * "allow" while the bucket has a token; "reject" (answer with an error frame) when it is empty; "close"
   * once more frames than one second's allowance were rejected within FLOOD_WINDOW_MS: sustained abuse,
   * not a burst, since a client that backs off after its first error frame never gets there.
   */
  take(now = Date.now()): FloodVerdict {
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return "allow";
    }
    if (now - this.windowStart > FLOOD_WINDOW_MS) {
      this.windowStart = now;
      this.rejected = 0;
    }
    this.rejected += 1;
    return this.rejected > this.perSecond ? "close" : "reject";
  }
}

/** One guard per socket of an object, made on the socket's first frame. */
export class FloodGuards {
  private readonly guards = new Map<string, FloodGuard>();

  constructor(private readonly perSecond: number) {}

  take(connId: string): FloodVerdict {
    let guard = this.guards.get(connId);
    if (!guard) {
      guard = new FloodGuard(this.perSecond);
      this.guards.set(connId, guard);
    }
    return guard.take();
  }

  forget(connId: string): void {
    this.guards.delete(connId);
  }
}
