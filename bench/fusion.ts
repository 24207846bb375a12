import { availableParallelism, cpus, loadavg } from "node:os";
import { pdfBackend } from "../gpu-worker/backends/pdf";
import type { ModelEntry } from "../gpu-worker/config";
import { silentLog } from "../gpu-worker/log";
import { extractAtEdge } from "../src/lib/documents/extract";
import type { DocumentFormat } from "../src/lib/documents/model";
import type { FusionResult } from "../src/lib/fusion/model";
import { docx, epub, pdf, pptx, xlsx } from "../tests/support/documents";
import { threeModalityInputs } from "../tests/support/fusion-inputs";
import { startOpenAiUpstream } from "../tests/support/openai-upstream";
import { envInt, failBench, log, registerBenchUser, watchdog } from "./lib/common";
import { startBenchGpuSuite } from "./lib/gpu-suite";
import { percentile } from "./lib/load";

const NAME = "bench:fusion";
const RUNS = envInt("BENCH_FUSION_RUNS", 12, 1, 1_000);
const CONCURRENCY = envInt("BENCH_FUSION_CONCURRENCY", 2, 1, 16);
const DOCS = envInt("BENCH_DOCS", 40, 1, 10_000);
const PAGES = 10;

const para = (n: number) =>
  `Paragraph ${n}: the harbour office logged ${n * 3} vessels, berths and tides for the quarter, as before.`;

/** One generated document per format, about ten pages (or sheets, slides, sections) each. */
async function corpus(): Promise<{ format: DocumentFormat; bytes: Uint8Array }[]> {
  const pages = Array.from({ length: PAGES }, (_, p) => p);
  const lines = (p: number) => Array.from({ length: 12 }, (_, i) => para(p * 12 + i));
  const table = (p: number) => Array.from({ length: 8 }, (_, r) => [`Vessel ${p}-${r}`, `Quay ${r}`, `${r * 7}`]);
  const enc = (s: string) => new TextEncoder().encode(s);
  return [
    {
      format: "docx",
      bytes: docx(
        pages.flatMap((p) => [
          { heading: `Section ${p}` },
          ...lines(p).map((text) => ({ text })),
          { table: table(p) },
          "pagebreak" as const,
        ]),
      ),
    },
    { format: "xlsx", bytes: xlsx(pages.map((p) => ({ name: `Sheet${p}`, rows: table(p).concat(table(p)) }))) },
    { format: "pptx", bytes: pptx(pages.map((p) => ({ title: `Slide ${p}`, lines: lines(p).slice(0, 6) }))) },
    {
      format: "epub",
      bytes: epub(
        pages.map((p) => ({ heading: `Chapter ${p}`, paragraphs: lines(p) })),
        "Harbour log",
      ),
    },
    {
      format: "csv",
      bytes: enc(pages.flatMap((p) => table(p).map((r) => r.map((c) => `"${c}"`).join(","))).join("\n")),
    },
    {
      format: "html",
      bytes: enc(
        `<html><body>${pages
          .map(
            (p) =>
              `<h2>Section ${p}</h2>${lines(p)
                .map((l) => `<p>${l}</p>`)
                .join("")}<table>${table(p)
                .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`)
                .join("")}</table>`,
          )
          .join("")}<script>x()</script></body></html>`,
      ),
    },
    {
      format: "markdown",
      bytes: enc(
        pages
          .map(
            (p) =>
              `## Section ${p}\n\n${lines(p).join("\n\n")}\n\n| a | b | c |\n|---|---|---|\n${table(p)
                .map((r) => `| ${r.join(" | ")} |`)
                .join("\n")}\n`,
          )
          .join("\n"),
      ),
    },
    {
      format: "pdf",
      bytes: await pdf(pages.map((p) => ({ heading: `Section ${p}`, lines: lines(p), table: table(p) }))),
    },
  ];
}

async function documentsPerSecond() {
  const pdfModel = await pdfBackend.load(
    {
      id: "pdf",
      backend: "pdfjs",
      vramMiB: 0,
      keepAliveMs: 0,
      concurrency: 1,
      pinned: false,
      options: {},
    } satisfies ModelEntry,
    {
      device: "cpu",
      threads: 0,
      log: silentLog,
    },
  );
  const run = { signal: new AbortController().signal, progress: () => {}, log: silentLog };
  const rows = [];
  for (const { format, bytes } of await corpus()) {
    const once = async () => {
      if (format === "pdf")
        await pdfModel.run({ type: "document.extract", bytes, mediaType: "application/pdf", options: {} }, run);
      else extractAtEdge(bytes, format);
    };
    await once(); // warm-up: the reader's code paths compiled
    const started = performance.now();
    for (let i = 0; i < DOCS; i++) await once();
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      format,
      kib: Math.round(bytes.byteLength / 1024),
      docsPerSecond: DOCS / seconds,
      pagesPerSecond: (DOCS * PAGES) / seconds,
    });
  }
  await pdfModel.unload();
  return rows;
}

async function fusionLatency() {
  const upstream = await startOpenAiUpstream();
  const routes = JSON.stringify({
    providers: { up: { type: "openai-compatible", baseUrl: upstream.url, allowPrivate: true } },
    aliases: { fusion: { targets: [{ provider: "up", model: "fusion-json" }] } },
  });
  const suite = await startBenchGpuSuite(
    "tessera-bench-fusion",
    { LLM_ROUTES: routes },
    { GPU_WORKER_TYPES: "speech,transcribe,vision.ocr,document.extract", GPU_WORKER_MAX_JOBS: "4" },
  );
  const { tessera } = suite;
  try {
    const { accessToken } = await registerBenchUser(tessera, "benchfusion");
    const headers = { authorization: `Bearer ${accessToken}`, "content-type": "application/json" };
    const body = JSON.stringify({ model: "fusion", inputs: await threeModalityInputs(tessera.url, accessToken) });
    const fuseOnce = async () => {
      const started = performance.now();
      const res = await fetch(new URL("/v1/fusion", tessera.url), {
        method: "POST",
        headers: { ...headers, prefer: "wait=60" },
        body,
      });
      let result = (await res.json()) as FusionResult;
      while (result.status === "running") {
        await new Promise((r) => setTimeout(r, 50));
        result = (await (
          await fetch(new URL(`/v1/fusion/${result.id}`, tessera.url), { headers })
        ).json()) as FusionResult;
      }
      if (result.status !== "completed" || result.synthesis.status !== "done") {
        throw new Error(
          `fusion ended ${result.status}, synthesis ${result.synthesis.status}: ${JSON.stringify(result.modalities.map((m) => m.error))}`,
        );
      }
      return { ms: performance.now() - started, ...result.timings };
    };
    await fuseOnce(); // warm-up: every engine's model loaded
    const samples: Awaited<ReturnType<typeof fuseOnce>>[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < RUNS) {
          next++;
          samples.push(await fuseOnce());
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const pct = (key: "ms" | "jobsMs" | "synthesisMs", p: number) =>
      percentile(Float64Array.from(samples.map((s) => s[key])).sort(), p);
    return {
      runs: RUNS,
      concurrency: CONCURRENCY,
      fusionsPerSecond: RUNS / seconds,
      clientMs: { p50: pct("ms", 50), p95: pct("ms", 95) },
      jobsMs: { p50: pct("jobsMs", 50), p95: pct("jobsMs", 95) },
      synthesisMs: { p50: pct("synthesisMs", 50), p95: pct("synthesisMs", 95) },
    };
  } finally {
    await suite.close();
    await upstream.close();
  }
}

async function main(): Promise<void> {
  const disarm = watchdog(NAME, 900_000);
  log(`${NAME} on ${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown CPU"}), Node ${process.version}`);
  log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  log(`documents per second (${DOCS} documents of ${PAGES} pages/sheets/slides/sections per format, in this process):`);
  const docs = await documentsPerSecond();
  for (const d of docs) {
    log(
      `${d.format.padEnd(9)} ${String(d.kib).padStart(5)} KiB   ${d.docsPerSecond.toFixed(1).padStart(7)} docs/s   ${d.pagesPerSecond.toFixed(0).padStart(6)} pages/s`,
    );
  }
  log();
  log(
    `three-modality fusion (image OCR + speech + PDF, synthesis through the router), ${RUNS} runs, ${CONCURRENCY} in flight:`,
  );
  const fusion = await fusionLatency();
  const ms = (x: { p50: number; p95: number }) =>
    `p50 ${x.p50.toFixed(0).padStart(5)} ms   p95 ${x.p95.toFixed(0).padStart(5)} ms`;
  log(`client (POST → result)   ${ms(fusion.clientMs)}`);
  log(`parallel jobs            ${ms(fusion.jobsMs)}`);
  log(`synthesis                ${ms(fusion.synthesisMs)}`);
  log(`throughput               ${fusion.fusionsPerSecond.toFixed(2)} fusions/s`);
  log(
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  log(JSON.stringify({ bench: NAME, docs, fusion }));
  disarm();
}

main().catch(failBench(NAME));
