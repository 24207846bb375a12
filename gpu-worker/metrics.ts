// Counters and latency histograms for /metrics in Prometheus' text format (no client library: a few maps suffice).
import type { LedgerSnapshot } from "./vram";

const BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

class Histogram {
  readonly counts = BUCKETS_S.map(() => 0);
  sum = 0;
  count = 0;
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    BUCKETS_S.forEach((le, i) => {
      if (seconds <= le) this.counts[i] = (this.counts[i] ?? 0) + 1;
    });
  }
}

const label = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export class Metrics {
  private readonly jobs = new Map<string, number>();
  private readonly jobSeconds = new Map<string, Histogram>();
  private readonly loads = new Map<string, Histogram>();
  private readonly unloads = new Map<string, Histogram>();

  jobFinished(type: string, model: string, outcome: "completed" | "failed" | "cancelled", seconds: number): void {
    const key = `${type}\u0000${outcome}`;
    this.jobs.set(key, (this.jobs.get(key) ?? 0) + 1);
    if (outcome === "completed") this.histogram(this.jobSeconds, model).observe(seconds);
  }

  modelLoaded(model: string, ms: number): void {
    this.histogram(this.loads, model).observe(ms / 1000);
  }

  modelUnloaded(model: string, ms: number): void {
    this.histogram(this.unloads, model).observe(ms / 1000);
  }

  jobCount(type: string, outcome: string): number {
    return this.jobs.get(`${type}\u0000${outcome}`) ?? 0;
  }

  private histogram(map: Map<string, Histogram>, key: string): Histogram {
    let h = map.get(key);
    if (!h) {
      h = new Histogram();
      map.set(key, h);
    }
    return h;
  }

  render(ledger: LedgerSnapshot, inFlight: number): string {
    const out: string[] = [];
    const gauge = (name: string, help: string, rows: [string, number][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      for (const [labels, value] of rows) out.push(`${name}${labels} ${value}`);
    };
    gauge("tessera_gpu_worker_vram_budget_mib", "The VRAM budget the ledger keeps to.", [["", ledger.budgetMiB]]);
    gauge("tessera_gpu_worker_vram_used_mib", "VRAM charged to loaded models.", [["", ledger.usedMiB]]);
    gauge("tessera_gpu_worker_vram_free_mib", "Budget not charged to any model.", [["", ledger.freeMiB]]);
    gauge("tessera_gpu_worker_jobs_in_flight", "Jobs leased and not yet finished.", [["", inFlight]]);
    gauge(
      "tessera_gpu_worker_model_loaded",
      "1 for each loaded model, with its state.",
      ledger.models.map((m) => [`{model="${label(m.id)}",state="${m.state}"}`, 1]),
    );
    gauge(
      "tessera_gpu_worker_model_vram_mib",
      "Each loaded model's declared, measured and charged memory.",
      ledger.models.flatMap((m) => {
        const rows: [string, number][] = [
          [`{model="${label(m.id)}",kind="declared"}`, m.declaredMiB],
          [`{model="${label(m.id)}",kind="charged"}`, m.chargedMiB],
        ];
        if (m.measuredMiB !== undefined) rows.push([`{model="${label(m.id)}",kind="measured"}`, m.measuredMiB]);
        return rows;
      }),
    );
    out.push("# HELP tessera_gpu_worker_jobs_total Jobs finished, by type and outcome.");
    out.push("# TYPE tessera_gpu_worker_jobs_total counter");
    for (const [key, n] of this.jobs) {
      const [type, outcome] = key.split("\u0000");
      out.push(`tessera_gpu_worker_jobs_total{type="${label(type ?? "")}",outcome="${outcome}"} ${n}`);
    }
    const histograms = (name: string, help: string, map: Map<string, Histogram>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      for (const [model, h] of map) {
        const m = label(model);
        BUCKETS_S.forEach((le, i) => {
          out.push(`${name}_bucket{model="${m}",le="${le}"} ${h.counts[i]}`);
        });
        out.push(`${name}_bucket{model="${m}",le="+Inf"} ${h.count}`);
        out.push(`${name}_sum{model="${m}"} ${h.sum}`, `${name}_count{model="${m}"} ${h.count}`);
      }
    };
    histograms(
      "tessera_gpu_worker_job_seconds",
      "Completed jobs' run time (input to result), by model.",
      this.jobSeconds,
    );
    histograms("tessera_gpu_worker_model_load_seconds", "Model load time.", this.loads);
    histograms("tessera_gpu_worker_model_unload_seconds", "Model unload time.", this.unloads);
    return `${out.join("\n")}\n`;
  }
}
