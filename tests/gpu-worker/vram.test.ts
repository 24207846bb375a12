// The VRAM manager's ledger with scripted loaders: eviction order, the budget, keep-alive, pinning, concurrent
// loads, the out-of-memory retry, and what it reports to the board.
import { describe, expect, it, vi } from "vitest";
import { JobError } from "../../gpu-worker/errors";
import type { MemoryProbe } from "../../gpu-worker/memory";
import { type ModelSpec, VramManager } from "../../gpu-worker/vram";

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

interface Fake {
  id: string;
  unload(): Promise<void>;
}

function spec(id: string, vramMiB: number, extra: Partial<ModelSpec> = {}): ModelSpec {
  return { id, vramMiB, keepAliveMs: 60_000, concurrency: 1, pinned: false, ...extra };
}

/** A manager whose loader records loads and unloads in order; `gate` holds a load open until released. */
function manager(
  budgetMiB: number,
  opts: { probe?: MemoryProbe; chargeMeasured?: boolean; onLoad?(id: string): void; onUnload?(id: string): void } = {},
) {
  const events: string[] = [];
  const gates = new Map<string, ReturnType<typeof deferred<void>>>();
  const failures = new Map<string, Error[]>();
  const vram = new VramManager<ModelSpec, Fake>({
    budgetMiB,
    probe: opts.probe,
    chargeMeasured: opts.chargeMeasured,
    async load(s) {
      events.push(`load ${s.id}`);
      await gates.get(s.id)?.promise;
      const fail = failures.get(s.id)?.shift();
      if (fail) throw fail;
      opts.onLoad?.(s.id);
      return {
        id: s.id,
        unload: async () => {
          events.push(`unload ${s.id}`);
          opts.onUnload?.(s.id);
        },
      };
    },
  });
  const gate = (id: string) => {
    const g = deferred();
    gates.set(id, g);
    return g;
  };
  const failNext = (id: string, err: Error) => failures.set(id, [...(failures.get(id) ?? []), err]);
  return { vram, events, gate, failNext };
}

const use = (vram: VramManager<ModelSpec, Fake>, s: ModelSpec) => vram.use(s, async (m) => m.id);
const loaded = (vram: VramManager<ModelSpec, Fake>) =>
  vram
    .snapshot()
    .models.map((m) => m.id)
    .sort();

describe("VRAM manager", () => {
  it("evicts the least recently used idle model to make room, never going over the budget", async () => {
    const { vram, events } = manager(10_000);
    await use(vram, spec("a", 4000));
    await use(vram, spec("b", 4000));
    await use(vram, spec("a", 4000)); // a is now more recent than b
    expect(vram.usedMiB()).toBe(8000);
    await use(vram, spec("c", 4000));
    expect(events).toEqual(["load a", "load b", "unload b", "load c"]);
    expect(loaded(vram)).toEqual(["a", "c"]);
    expect(vram.usedMiB()).toBeLessThanOrEqual(10_000);
  });

  it("evicts several models when one is not enough, oldest first", async () => {
    const { vram, events } = manager(10_000);
    for (const id of ["a", "b", "c"]) await use(vram, spec(id, 3000));
    await use(vram, spec("big", 8000));
    expect(events.slice(3)).toEqual(["unload a", "unload b", "unload c", "load big"]);
  });

  it("refuses a model larger than the whole budget for good", async () => {
    const { vram } = manager(4096);
    const err = await use(vram, spec("huge", 6144)).catch((e) => e);
    expect(err).toBeInstanceOf(JobError);
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toContain("6144 MiB");
  });

  it("never evicts a pinned model, nor one in use: a load waits until a job releases its model", async () => {
    const { vram, events } = manager(10_000);
    await vram.preload(spec("pinned", 4000, { pinned: true }));
    const release = deferred();
    const busy = vram.use(spec("busy", 4000), () => release.promise);
    await vi.waitFor(() => expect(events).toContain("load busy"));
    let started = false;
    const waiting = vram.use(spec("next", 4000), async () => {
      started = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(started).toBe(false);
    expect(vram.usedMiB()).toBe(8000);
    release.resolve();
    await busy;
    await waiting;
    expect(started).toBe(true);
    expect(events).toEqual(["load pinned", "load busy", "unload busy", "load next"]);
    expect(loaded(vram)).toEqual(["next", "pinned"]);
  });

  it("unloads an idle model when its keep-alive ends, and at once with keep-alive 0", async () => {
    vi.useFakeTimers();
    try {
      const { vram, events } = manager(10_000);
      await use(vram, spec("short", 1000, { keepAliveMs: 5_000 }));
      await use(vram, spec("none", 1000, { keepAliveMs: 0 }));
      await vi.advanceTimersByTimeAsync(0);
      expect(events).toEqual(["load short", "load none", "unload none"]);
      await vi.advanceTimersByTimeAsync(4_000);
      await use(vram, spec("short", 1000, { keepAliveMs: 5_000 })); // a use restarts the keep-alive
      await vi.advanceTimersByTimeAsync(4_000);
      expect(loaded(vram)).toEqual(["short"]);
      await vi.advanceTimersByTimeAsync(1_500);
      expect(loaded(vram)).toEqual([]);
      expect(events.at(-1)).toBe("unload short");
    } finally {
      vi.useRealTimers();
    }
  });

  it("loads a model once for concurrent jobs, and runs at most `concurrency` of them at a time", async () => {
    const { vram, events, gate } = manager(10_000);
    const g = gate("m");
    let running = 0;
    let peak = 0;
    const job = () =>
      vram.use(spec("m", 2000, { concurrency: 2 }), async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
      });
    const jobs = [job(), job(), job(), job(), job()];
    await new Promise((r) => setTimeout(r, 10));
    g.resolve();
    await Promise.all(jobs);
    expect(events).toEqual(["load m"]);
    expect(peak).toBe(2);
  });

  it("charges loads in progress, so two different models loading at once never exceed the budget", async () => {
    const { vram, events, gate } = manager(10_000);
    const ga = gate("a");
    const a = use(vram, spec("a", 6000));
    const b = use(vram, spec("b", 6000));
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual(["load a"]);
    expect(vram.usedMiB()).toBe(6000);
    ga.resolve();
    await Promise.all([a, b]);
    expect(events).toEqual(["load a", "unload a", "load b"]);
  });

  it("retries a load once after evicting idle models when it fails for lack of memory", async () => {
    const { vram, events, failNext } = manager(10_000);
    await use(vram, spec("idle", 2000));
    failNext("m", new Error("CUDA error: out of memory"));
    await use(vram, spec("m", 4000));
    expect(events).toEqual(["load idle", "load m", "unload idle", "load m"]);
    // Out of memory again after the retry fails the load; so does any other error (no retry); the ledger forgets both.
    failNext("n", new Error("CUDA error: out of memory"));
    failNext("n", new Error("CUDA error: out of memory"));
    await expect(use(vram, spec("n", 1000))).rejects.toThrow("out of memory");
    expect(events.slice(4)).toEqual(["load n", "unload m", "load n"]);
    failNext("o", new Error("bad file"));
    await expect(use(vram, spec("o", 1000))).rejects.toThrow("bad file");
    expect(events.slice(7)).toEqual(["load o"]);
    expect(loaded(vram)).toEqual([]);
    expect(vram.usedMiB()).toBe(0);
  });

  it("charges the measured size when it is larger than declared (CUDA), evicting to stay under budget", async () => {
    // The process uses 1000 MiB, plus each loaded model's real size.
    const real: Record<string, number> = { small: 3000, liar: 8000 };
    let current = 1000;
    const probe: MemoryProbe = {
      source: "test",
      processMiB: async () => current,
      deviceFreeMiB: async () => undefined,
    };
    const { vram, events } = manager(10_000, {
      probe,
      chargeMeasured: true,
      onLoad: (id) => {
        current += real[id] ?? 0;
      },
      onUnload: (id) => {
        current -= real[id] ?? 0;
      },
    });
    await use(vram, spec("small", 3000));
    await use(vram, spec("liar", 4000));
    const liar = vram.snapshot().models.find((m) => m.id === "liar");
    expect(liar).toMatchObject({ declaredMiB: 4000, measuredMiB: 8000, chargedMiB: 8000 });
    // 3000 + 8000 would exceed 10,000: the idle "small" goes.
    expect(events).toEqual(["load small", "load liar", "unload small"]);
    expect(vram.usedMiB()).toBe(8000);
  });

  it("reports idle unpinned models as free VRAM, busy, loading and pinned ones as taken, less pending jobs", async () => {
    const { vram, gate } = manager(24_576);
    await vram.preload(spec("pinned", 1000, { pinned: true }));
    await use(vram, spec("idle", 5000));
    const release = deferred();
    const busy = vram.use(spec("busy", 3000), () => release.promise);
    gate("loading");
    void use(vram, spec("loading", 2000));
    await new Promise((r) => setTimeout(r, 20));
    const report = await vram.report(4000);
    expect(report.loadedModels.sort()).toEqual(["busy", "idle", "pinned"]);
    expect(report.freeVramMiB).toBe(24_576 - 1000 - 3000 - 2000 - 4000);
    release.resolve();
    await busy;
  });

  it("caps the report by what the device says is free (other processes on the card)", async () => {
    const probe: MemoryProbe = { source: "test", processMiB: async () => undefined, deviceFreeMiB: async () => 3000 };
    const { vram } = manager(24_576, { probe });
    await use(vram, spec("idle", 2000));
    expect((await vram.report()).freeVramMiB).toBe(5000);
  });
});
