// The VRAM manager: a ledger of loaded models and what each costs (declared, and measured where the device can be
// measured), least-recently-used eviction of idle models, keep-alive, pinning, and a hard budget. Loads run one at a
// time, so each measurement is that model's own; jobs wanting a loading model wait for that one load.
import { isOutOfMemory, JobError } from "./errors";
import { errorMessage, type Log, silentLog } from "./log";
import type { MemoryProbe } from "./memory";

/** What the ledger needs to know about a model (a models-file entry satisfies it). */
export interface ModelSpec {
  id: string;
  vramMiB: number;
  keepAliveMs: number;
  concurrency: number;
  pinned: boolean;
}

export interface Unloadable {
  unload(): Promise<void>;
}

export interface VramOptions<S extends ModelSpec, M extends Unloadable> {
  budgetMiB: number;
  load(spec: S): Promise<M>;
  /** Measures memory around each load; `chargeMeasured` makes the ledger charge max(declared, measured). */
  probe?: MemoryProbe;
  chargeMeasured?: boolean;
  log?: Log;
  now?: () => number;
  onLoad?(id: string, ms: number): void;
  onUnload?(id: string, ms: number, reason: string): void;
}

type State = "loading" | "ready" | "unloading";

interface Entry<S extends ModelSpec, M extends Unloadable> {
  spec: S;
  state: State;
  model?: M;
  ready: Promise<void>;
  gone?: Promise<void>;
  active: number;
  slotWaiters: (() => void)[];
  /** Jobs waiting for this load to finish: the model is theirs as soon as it is ready, so it is not evictable. */
  pending: number;
  lastUsed: number;
  /** Order of last use (a counter: clock readings tie within a millisecond). */
  recency: number;
  chargeMiB: number;
  measuredMiB?: number;
  loadMs?: number;
  expiry?: NodeJS.Timeout;
}

export interface LoadedModelInfo {
  id: string;
  state: State;
  active: number;
  pinned: boolean;
  declaredMiB: number;
  measuredMiB?: number;
  chargedMiB: number;
  loadMs?: number;
  idleMs: number;
}

export interface LedgerSnapshot {
  budgetMiB: number;
  usedMiB: number;
  freeMiB: number;
  models: LoadedModelInfo[];
}

export class VramManager<S extends ModelSpec, M extends Unloadable> {
  private readonly entries = new Map<string, Entry<S, M>>();
  private changeWaiters: (() => void)[] = [];
  private loadChain: Promise<unknown> = Promise.resolve();
  private readonly log: Log;
  private readonly now: () => number;
  private closed = false;
  private useCounter = 0;

  constructor(private readonly opts: VramOptions<S, M>) {
    this.log = opts.log ?? silentLog;
    this.now = opts.now ?? Date.now;
  }

  get budgetMiB(): number {
    return this.opts.budgetMiB;
  }

  /** Runs `fn` with the model loaded and one of its concurrency slots held. */
  async use<T>(spec: S, fn: (model: M) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const entry = await this.acquire(spec, signal);
    try {
      return await fn(entry.model as M);
    } finally {
      this.release(entry);
    }
  }

  /** Loads a model now (pinned models at start), without holding it. */
  async preload(spec: S): Promise<void> {
    await this.use(spec, async () => {});
  }

  usedMiB(): number {
    let used = 0;
    for (const e of this.entries.values()) used += e.chargeMiB;
    return used;
  }

  /**
   * What the worker tells the board with a lease: the loaded models, and the VRAM it could give a new model, which
   * counts idle unpinned models as free (they would be evicted) less `pendingMiB` (jobs in hand whose models are not
   * loaded yet), capped by what the device itself reports free.
   */
  async report(pendingMiB = 0): Promise<{ freeVramMiB: number; loadedModels: string[] }> {
    let held = 0;
    const loaded: string[] = [];
    for (const e of this.entries.values()) {
      if (e.state === "ready") loaded.push(e.spec.id);
      if (!this.evictable(e)) held += e.chargeMiB;
    }
    let free = this.opts.budgetMiB - held - pendingMiB;
    const deviceFree = await this.opts.probe?.deviceFreeMiB();
    if (deviceFree !== undefined) free = Math.min(free, deviceFree + this.idleChargeMiB());
    return { freeVramMiB: Math.max(0, Math.floor(free)), loadedModels: loaded };
  }

  snapshot(): LedgerSnapshot {
    const now = this.now();
    const models = [...this.entries.values()].map((e) => ({
      id: e.spec.id,
      state: e.state,
      active: e.active,
      pinned: e.spec.pinned,
      declaredMiB: e.spec.vramMiB,
      measuredMiB: e.measuredMiB,
      chargedMiB: e.chargeMiB,
      loadMs: e.loadMs,
      idleMs: e.active > 0 ? 0 : now - e.lastUsed,
    }));
    const usedMiB = this.usedMiB();
    return { budgetMiB: this.opts.budgetMiB, usedMiB, freeMiB: this.opts.budgetMiB - usedMiB, models };
  }

  /** Unloads everything (shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.entries.values()].map((e) => this.unload(e, "shutdown")));
  }

  private idleChargeMiB(): number {
    let idle = 0;
    for (const e of this.entries.values()) if (this.evictable(e)) idle += e.chargeMiB;
    return idle;
  }

  private evictable(e: Entry<S, M>): boolean {
    return e.state === "ready" && e.active === 0 && e.pending === 0 && e.slotWaiters.length === 0 && !e.spec.pinned;
  }

  private async acquire(spec: S, signal?: AbortSignal): Promise<Entry<S, M>> {
    for (;;) {
      if (this.closed) throw new JobError("the worker is shutting down", true);
      signal?.throwIfAborted();
      const entry = this.entries.get(spec.id) ?? (await this.reserve(spec, signal));
      if (entry.state === "loading") {
        entry.pending++;
        try {
          await entry.ready; // throws when the load failed (the entry is gone then)
        } finally {
          entry.pending--;
        }
        continue; // synchronously on to taking a slot: nothing can evict it in between
      }
      if (entry.state === "unloading") {
        await entry.gone;
        continue;
      }
      if (entry.active < entry.spec.concurrency) {
        entry.active++;
        entry.recency = ++this.useCounter;
        clearTimeout(entry.expiry);
        entry.expiry = undefined;
        return entry;
      }
      await this.waitFor(entry.slotWaiters, signal);
    }
  }

  /** A loading entry for `spec` once the budget has room for it, evicting idle models least recently used first. */
  private async reserve(spec: S, signal?: AbortSignal): Promise<Entry<S, M>> {
    if (spec.vramMiB > this.opts.budgetMiB) {
      throw new JobError(
        `model ${spec.id} needs ${spec.vramMiB} MiB, more than this worker's whole budget (${this.opts.budgetMiB} MiB)`,
        false,
      );
    }
    for (;;) {
      const existing = this.entries.get(spec.id);
      if (existing) return existing;
      // Synchronous from the check to the insert: no other reservation can slip in between.
      if (this.opts.budgetMiB - this.usedMiB() >= spec.vramMiB) return this.startLoad(spec);
      const victim = this.leastRecentlyUsedIdle();
      if (victim) {
        await this.unload(victim, "evicted");
        continue;
      }
      // Everything loaded is busy: wait until a job releases a model (or a load fails) and look again.
      await this.waitFor(this.changeWaiters, signal);
    }
  }

  private leastRecentlyUsedIdle(): Entry<S, M> | undefined {
    let victim: Entry<S, M> | undefined;
    for (const e of this.entries.values()) {
      if (this.evictable(e) && (!victim || e.recency < victim.recency)) victim = e;
    }
    return victim;
  }

  private startLoad(spec: S): Entry<S, M> {
    const entry: Entry<S, M> = {
      spec,
      state: "loading",
      ready: Promise.resolve(),
      active: 0,
      slotWaiters: [],
      pending: 0,
      lastUsed: this.now(),
      recency: ++this.useCounter,
      chargeMiB: spec.vramMiB,
    };
    this.entries.set(spec.id, entry);
    const run = this.loadChain.then(() => this.loadInto(entry));
    this.loadChain = run.catch(() => {});
    entry.ready = run;
    return entry;
  }

  private async loadInto(entry: Entry<S, M>): Promise<void> {
    const { spec } = entry;
    const before = await this.opts.probe?.processMiB();
    const started = performance.now();
    try {
      entry.model = await this.opts.load(spec);
    } catch (err) {
      const evicted = isOutOfMemory(err) ? await this.evictAllIdle() : 0;
      if (!evicted) return this.loadFailed(entry, err);
      this.log.warn("model load ran out of memory: evicted idle models, retrying once", { model: spec.id, evicted });
      try {
        entry.model = await this.opts.load(spec);
      } catch (again) {
        return this.loadFailed(entry, again);
      }
    }
    entry.loadMs = performance.now() - started;
    const after = await this.opts.probe?.processMiB();
    if (before !== undefined && after !== undefined) {
      entry.measuredMiB = Math.max(0, after - before);
      if (this.opts.chargeMeasured) entry.chargeMiB = Math.max(spec.vramMiB, entry.measuredMiB);
    }
    entry.state = "ready";
    entry.lastUsed = this.now();
    this.opts.onLoad?.(spec.id, entry.loadMs);
    this.log.info("model loaded", {
      model: spec.id,
      ms: Math.round(entry.loadMs),
      declaredMiB: spec.vramMiB,
      measuredMiB: entry.measuredMiB,
      source: this.opts.probe?.source,
    });
    // A model that measured bigger than declared may push the ledger over: evict idle ones to get back under.
    while (this.usedMiB() > this.opts.budgetMiB) {
      const victim = this.leastRecentlyUsedIdle();
      if (!victim || victim === entry) break;
      await this.unload(victim, "over budget after a measured load");
    }
    this.changed();
  }

  private loadFailed(entry: Entry<S, M>, err: unknown): never {
    this.entries.delete(entry.spec.id);
    this.changed();
    this.log.warn("model load failed", { model: entry.spec.id, error: errorMessage(err) });
    throw err;
  }

  private async evictAllIdle(): Promise<number> {
    const idle = [...this.entries.values()].filter((e) => this.evictable(e));
    await Promise.all(idle.map((e) => this.unload(e, "out of memory")));
    return idle.length;
  }

  private release(entry: Entry<S, M>): void {
    entry.active--;
    entry.lastUsed = this.now();
    entry.recency = ++this.useCounter;
    const next = entry.slotWaiters.shift();
    if (next) {
      next();
      return;
    }
    if (entry.active === 0 && !entry.spec.pinned) {
      if (entry.spec.keepAliveMs === 0) void this.unload(entry, "keep-alive 0");
      else {
        entry.expiry = setTimeout(() => {
          if (this.evictable(entry)) void this.unload(entry, "keep-alive expired");
        }, entry.spec.keepAliveMs);
        entry.expiry.unref();
      }
    }
    this.changed();
  }

  private unload(entry: Entry<S, M>, reason: string): Promise<void> {
    if (entry.gone) return entry.gone;
    entry.state = "unloading";
    clearTimeout(entry.expiry);
    entry.gone = (async () => {
      const started = performance.now();
      try {
        await entry.model?.unload();
      } catch (err) {
        this.log.warn("model unload failed", { model: entry.spec.id, error: errorMessage(err) });
      }
      const ms = performance.now() - started;
      this.entries.delete(entry.spec.id);
      this.opts.onUnload?.(entry.spec.id, ms, reason);
      this.log.info("model unloaded", { model: entry.spec.id, reason, ms: Math.round(ms) });
      this.changed();
    })();
    return entry.gone;
  }

  private changed(): void {
    const waiters = this.changeWaiters;
    this.changeWaiters = [];
    for (const wake of waiters) wake();
  }

  private waitFor(list: (() => void)[], signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = list.indexOf(wake);
        if (i >= 0) list.splice(i, 1);
        reject(signal?.reason);
      };
      list.push(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
