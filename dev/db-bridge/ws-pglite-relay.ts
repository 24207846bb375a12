// The WebSocket relay in front of PGlite. PGlite has one session for everybody, so a relayed
// session holds the bridge's lock only while it has work in flight or a transaction open, and
// gives it back at every ReadyForQuery 'I' with nothing pending. Holding it from connect to close
// instead would deadlock a Pool that runs two queries at once (the second connection would wait
// forever behind the first one's idle socket). Like pgbouncer's transaction mode, session state
// (SET, named prepared statements) is private only while one session is open; the last session to
// close resets it with DISCARD ALL.
import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import type { PgliteBackend } from "./backend";
import { LockTimeoutError, type Release } from "./lock";
import {
  BackendTracker,
  endsWithReadyForQuery,
  errorResponse,
  FrontendReader,
  queryMessage,
  syncMessage,
  type TransactionStatus,
} from "./pg-wire";
import { closeWs, type RelayOptions, type RelaySession, SSL_REFUSED, sendTo, toBuffer } from "./ws-session";

/** How long the reset after a PGlite session may take before the bridge rolls back directly. */
const CLEANUP_TIMEOUT_MS = 5_000;

export class PgliteRelay implements RelaySession {
  readonly done: Promise<void>;
  #resolveDone: () => void = () => {};
  #closed = false;
  readonly #upstream: Socket;
  #upstreamOpen = true;
  readonly #reader = new FrontendReader();
  readonly #tracker = new BackendTracker();
  /** Whole client messages not yet sent upstream because the lock is not ours yet. */
  #queue: { bytes: Buffer; sync: boolean }[] = [];
  #release: Release | undefined;
  #waiting: AbortController | undefined;
  /** ReadyForQuery messages still owed by PGlite for what was sent. */
  #outstanding = 0;
  /** Messages sent since the last sync point (an extended-protocol sequence is under way). */
  #dirty = false;
  #status: TransactionStatus = "I";
  #drainWaiters: ((drained: boolean) => void)[] = [];
  #idleTimer: NodeJS.Timeout | undefined;
  /** The last message from the client or data from PGlite, for the idle limit. */
  #lastActivityAt = Date.now();

  constructor(
    private readonly ws: WebSocket,
    private readonly backend: PgliteBackend,
    /** How many other relayed sessions are open (they share PGlite's session state). */
    private readonly othersOpen: () => number,
    private readonly opts: RelayOptions,
  ) {
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    this.#upstream = backend.connectRaw();
    this.#upstream.on("data", (chunk: Buffer) => this.#onUpstream(chunk));
    this.#upstream.on("error", (error) => this.close(`database connection error: ${error.message}`));
    this.#upstream.on("close", () => {
      this.#upstreamOpen = false;
      this.#settleDrain(false);
      this.close("database connection closed");
    });
    ws.on("message", (data) => this.#onClient(toBuffer(data)));
    ws.on("close", () => this.close("client closed"));
    ws.on("error", (error) => this.close(`client error: ${error.message}`));
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiting?.abort(new Error(reason));
    this.#clearIdle();
    closeWs(this.ws);
    this.#cleanup()
      .catch((error: Error) => this.opts.log(`reset after a WebSocket session failed: ${error.message}`))
      .finally(() => {
        this.#upstream.destroy();
        this.#resolveDone();
      });
  }

  #onClient(chunk: Buffer): void {
    if (this.#closed) return;
    this.#lastActivityAt = Date.now();
    let messages: ReturnType<FrontendReader["push"]>;
    try {
      messages = this.#reader.push(chunk);
    } catch (error) {
      this.#fatal("08P01", `db-bridge: ${(error as Error).message}`);
      return;
    }
    for (const m of messages) {
      if (m.kind === "ssl-request" || m.kind === "gssenc-request") {
        sendTo(this.ws, SSL_REFUSED);
      } else if (m.kind === "cancel") {
        this.close("CancelRequest (not supported by PGlite)");
        return;
      } else if (m.kind === "typed" && m.type === "X") {
        // PGlite ignores Terminate, so the relay ends the session itself.
        this.close("client terminated");
        return;
      } else if (m.kind === "typed" && m.type === "p") {
        // PGlite trusts every connection; a password sent ahead (pipelineConnect) is answered by nobody.
      } else {
        this.#queue.push({ bytes: m.bytes, sync: endsWithReadyForQuery(m) });
      }
    }
    this.#pump();
  }

  #pump(): void {
    if (this.#closed || this.#queue.length === 0) return;
    if (!this.#release) {
      this.#acquire();
      return;
    }
    const batch = this.#queue.splice(0);
    for (const m of batch) {
      if (m.sync) {
        this.#outstanding++;
        this.#dirty = false;
      } else {
        this.#dirty = true;
      }
    }
    this.#upstream.write(
      batch.length === 1 ? (batch[0] as { bytes: Buffer }).bytes : Buffer.concat(batch.map((m) => m.bytes)),
    );
    this.#armIdle();
  }

  #acquire(): void {
    if (this.#waiting) return;
    const waiting = new AbortController();
    this.#waiting = waiting;
    this.backend.lock.acquire(this.opts.lockTimeoutMs, waiting.signal).then(
      (release) => {
        this.#waiting = undefined;
        if (this.#closed) {
          release(); // granted just as the client left: nothing was sent, nothing to undo
          return;
        }
        this.#release = release;
        this.#pump();
      },
      (error: unknown) => {
        this.#waiting = undefined;
        if (this.#closed) return;
        if (error instanceof LockTimeoutError) this.#fatal(error.code, error.message);
        else this.close(`lock wait failed: ${String(error)}`);
      },
    );
  }

  #onUpstream(chunk: Buffer): void {
    this.#lastActivityAt = Date.now();
    if (!this.#closed) sendTo(this.ws, chunk);
    let statuses: TransactionStatus[];
    try {
      statuses = this.#tracker.push(chunk);
    } catch (error) {
      this.close(`unreadable data from PGlite: ${(error as Error).message}`);
      return;
    }
    if (statuses.length === 0) return;
    for (const status of statuses) {
      this.#outstanding = Math.max(0, this.#outstanding - 1);
      this.#status = status;
    }
    if (this.#outstanding === 0) this.#settleDrain(true);
    this.#maybeRelease();
  }

  #maybeRelease(): void {
    if (!this.#release || this.#closed) return;
    if (this.#outstanding > 0 || this.#dirty || this.#status !== "I" || this.#queue.length > 0) return;
    const release = this.#release;
    this.#release = undefined;
    this.#clearIdle();
    release();
  }

  /** While the lock is held, a session where neither side sends anything is cut after the idle limit. */
  #armIdle(): void {
    if (this.#idleTimer || this.#closed || !this.#release) return;
    const left = this.opts.idleInTransactionTimeoutMs - (Date.now() - this.#lastActivityAt);
    this.#idleTimer = setTimeout(() => this.#onIdle(), Math.max(0, left));
  }

  #onIdle(): void {
    this.#idleTimer = undefined;
    if (this.#closed || !this.#release) return;
    if (Date.now() - this.#lastActivityAt < this.opts.idleInTransactionTimeoutMs) {
      this.#armIdle();
      return;
    }
    // PGlite runs on this thread, so a long statement delays timers too and its answer may be
    // sitting unread in the socket: judge after the poll phase has read it.
    setImmediate(() => {
      if (this.#closed || !this.#release) return;
      const idleMs = Date.now() - this.#lastActivityAt;
      if (idleMs < this.opts.idleInTransactionTimeoutMs) {
        this.#armIdle();
        return;
      }
      if (this.#outstanding > 0) {
        this.opts.log(`closing a WebSocket session: PGlite has not answered it for ${idleMs} ms`);
        this.#fatal("08006", `db-bridge: no answer from PGlite for ${idleMs} ms; closing the session`);
        return;
      }
      this.opts.log(`closing a WebSocket session that held PGlite idle for ${idleMs} ms`);
      // The SQLSTATE Postgres uses for idle_in_transaction_session_timeout.
      this.#fatal(
        "25P03",
        `terminating connection due to idle-in-transaction timeout (db-bridge: the session held PGlite, which runs one transaction at a time, idle for more than ${this.opts.idleInTransactionTimeoutMs} ms)`,
      );
    });
  }

  #clearIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #fatal(code: string, message: string): void {
    sendTo(this.ws, errorResponse({ severity: "FATAL", code, message }));
    this.close(message);
  }

  #settleDrain(drained: boolean): void {
    const waiters = this.#drainWaiters.splice(0);
    for (const w of waiters) w(drained);
  }

  #waitDrained(timeoutMs: number): Promise<boolean> {
    if (this.#outstanding === 0) return Promise.resolve(true);
    if (!this.#upstreamOpen) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#drainWaiters.push((drained) => {
        clearTimeout(timer);
        resolve(drained);
      });
    });
  }

  /**
   * Leaves PGlite's session as a fresh connection would find it: ends any extended-protocol
   * sequence and transaction this client left behind (it may have vanished mid-transaction), and,
   * when no other session shares the state, resets it. Runs through this session's own connection,
   * so it queues behind anything the client already sent.
   */
  async #cleanup(): Promise<void> {
    const holding = this.#release !== undefined;
    const alone = this.othersOpen() === 0;
    if (!holding && !alone) return;
    if (!holding) {
      try {
        this.#release = await this.backend.lock.acquire(this.opts.lockTimeoutMs);
      } catch {
        return; // the state stays as the next holder finds it; nothing of ours is open
      }
    }
    try {
      const messages: Buffer[] = [];
      if (holding) messages.push(syncMessage(), queryMessage("ROLLBACK"));
      if (alone) messages.push(queryMessage("DISCARD ALL"));
      if (this.#upstreamOpen) {
        this.#outstanding += messages.length;
        this.#upstream.write(Buffer.concat(messages));
        if (await this.#waitDrained(CLEANUP_TIMEOUT_MS)) return;
      }
      await this.backend.rollbackDirect();
    } finally {
      const release = this.#release;
      this.#release = undefined;
      release?.();
    }
  }
}
