// Neon's WebSocket protocol: the driver (Pool/Client) sends raw Postgres wire-protocol bytes in
// binary frames to ws://host:port/v2. The `address` it names is ignored: the bridge has one
// backend. This keeps the open sessions, one relay each (ws-pglite-relay.ts, ws-postgres-relay.ts).
import type { WebSocket } from "ws";
import type { Backend } from "./backend";
import { PgliteRelay } from "./ws-pglite-relay";
import { PostgresRelay } from "./ws-postgres-relay";
import type { RelayOptions, RelaySession } from "./ws-session";

export type { RelayOptions } from "./ws-session";

export class RelayRegistry {
  readonly #sessions = new Set<RelaySession>();

  constructor(
    private readonly backend: Backend,
    private readonly opts: RelayOptions,
  ) {}

  get size(): number {
    return this.#sessions.size;
  }

  accept(ws: WebSocket): void {
    const session: RelaySession =
      this.backend.kind === "pglite"
        ? new PgliteRelay(ws, this.backend, (): number => this.othersOpen(session), this.opts)
        : new PostgresRelay(ws, this.backend, this.opts);
    this.#sessions.add(session);
    void session.done.then(() => this.#sessions.delete(session));
  }

  /** Open sessions besides `self`: while there are any, the shared session's state is theirs too. */
  othersOpen(self: RelaySession): number {
    let n = 0;
    for (const s of this.#sessions) if (s !== self && !s.closed) n++;
    return n;
  }

  async closeAll(reason: string): Promise<void> {
    const sessions = [...this.#sessions];
    for (const s of sessions) s.close(reason);
    await Promise.all(sessions.map((s) => s.done));
  }
}
