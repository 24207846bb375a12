// `npm test`: every layer in one command, then one line `N passed, N failed`.
// Steps run in order; a failing step does not stop the later ones, so one run shows everything.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** The bundle that would be uploaded must stay well inside Workers' 3 MiB (free) compressed limit. */
const BUNDLE_GZIP_BUDGET_KIB = 1024;

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const tee = (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    };
    child.stdout.on("data", tee);
    child.stderr.on("data", tee);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

/** A step that is one check: passes or fails as a whole. */
async function check(name: string, command: string, args: string[]): Promise<Counts> {
  console.log(`\n▶ ${name}`);
  const { code } = await run(command, args);
  console.log(code === 0 ? `✔ ${name}` : `✘ ${name} (exit ${code})`);
  return { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 };
}

/** A vitest project: counts its tests from the JSON report. */
async function vitest(name: string, config: string): Promise<Counts> {
  console.log(`\n▶ ${name}`);
  const dir = await mkdtemp(join(tmpdir(), "tessera-vitest-"));
  const report = join(dir, "report.json");
  try {
    const { code } = await run(process.execPath, [
      "node_modules/vitest/vitest.mjs",
      "run",
      "--config",
      config,
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${report}`,
    ]);
    let counts: Counts = { passed: 0, failed: 0, skipped: 0 };
    try {
      const json = JSON.parse(await readFile(report, "utf8")) as {
        numPassedTests: number;
        numFailedTests: number;
        numPendingTests: number;
        numTodoTests: number;
      };
      counts = {
        passed: json.numPassedTests,
        failed: json.numFailedTests,
        skipped: json.numPendingTests + json.numTodoTests,
      };
    } catch {
      // No report: the run failed before any test (config or setup error).
    }
    // A non-zero exit with no failed test (a setup error, an unhandled rejection) still fails the step.
    if (code !== 0 && counts.failed === 0) counts.failed = 1;
    if (code === 0 && counts.passed === 0) counts.failed += 1; // a project that ran nothing is broken
    console.log(`${counts.failed ? "✘" : "✔"} ${name}: ${counts.passed} passed, ${counts.failed} failed`);
    return counts;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function bundleSize(): Promise<Counts> {
  const name = "bundle size (wrangler deploy --dry-run)";
  console.log(`\n▶ ${name}`);
  const outdir = await mkdtemp(join(tmpdir(), "tessera-dist-"));
  try {
    const { code, output } = await run(
      process.execPath,
      ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", outdir],
      { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
    );
    const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
    const gzip = match ? Number(match[2]) : Number.NaN;
    const ok = code === 0 && gzip <= BUNDLE_GZIP_BUDGET_KIB;
    console.log(
      ok
        ? `✔ ${name}: ${gzip} KiB gzip (budget ${BUNDLE_GZIP_BUDGET_KIB} KiB)`
        : `✘ ${name}: exit ${code}, gzip ${gzip} KiB (budget ${BUNDLE_GZIP_BUDGET_KIB} KiB)`,
    );
    return { passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0 };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

const started = Date.now();
const backend = process.env.DATABASE_URL ? `Postgres (${new URL(process.env.DATABASE_URL).host})` : "PGlite";
console.log(`Tessera test suite: database backend ${backend}`);
// The static checks and the bundle build need nothing running and little memory: they run side by side (their
// output interleaves), which saves about a minute of a 2-core machine's wall time. The test projects then run one
// at a time, since each starts processes or isolates whose timing a neighbour would disturb.
const results: Counts[] = await Promise.all([
  check("types (worker)", process.execPath, ["node_modules/typescript/bin/tsc", "--noEmit", "-p", "tsconfig.json"]),
  check("types (node)", process.execPath, ["node_modules/typescript/bin/tsc", "--noEmit", "-p", "tsconfig.node.json"]),
  check("lint and format (biome)", "node_modules/.bin/biome", ["check", "--error-on-warnings", "."]),
  check("generated types match wrangler.toml (cf-typegen --check)", process.execPath, [
    "node_modules/tsx/dist/cli.mjs",
    "scripts/cf-typegen.ts",
    "--check",
  ]),
  bundleSize(),
]);
results.push(await vitest("unit (pure modules, Node)", "tests/unit/vitest.config.ts"));
results.push(await vitest("workers (vitest-pool-workers)", "tests/workers/vitest.config.ts"));
results.push(await vitest("node", "tests/node/vitest.config.ts"));
results.push(await vitest("gpu-worker (real engines, lease loop, VRAM manager)", "tests/gpu-worker/vitest.config.ts"));
results.push(await vitest("e2e (wrangler dev)", "tests/e2e/vitest.config.ts"));

const total = results.reduce((a, b) => ({
  passed: a.passed + b.passed,
  failed: a.failed + b.failed,
  skipped: a.skipped + b.skipped,
}));
console.log(`\nFinished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(
  `total: ${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ""}`,
);
process.exit(total.failed === 0 ? 0 : 1);
