// Debian's chromium for the browser tests (scripts/ensure-chromium.sh installs it; CHROMIUM_PATH names another):
// found once, launched headless by puppeteer-core. Without it the tests are skipped loudly, and fail in CI.
import { execFileSync } from "node:child_process";
import puppeteer, { type Browser } from "puppeteer-core";

function findChromium(): string | undefined {
  for (const candidate of [process.env.CHROMIUM_PATH, "chromium", "chromium-browser"]) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore" });
      return candidate === "chromium" || candidate === "chromium-browser"
        ? execFileSync("sh", ["-c", `command -v ${candidate}`], { encoding: "utf8" }).trim()
        : candidate;
    } catch {}
  }
  return undefined;
}

export const chromium = findChromium();
if (!chromium) {
  if (process.env.CI) throw new Error("chromium is missing: run scripts/ensure-chromium.sh (CI runs it from .ci/run)");
  console.warn("\n*** browser tests SKIPPED: no chromium here; run `bash scripts/ensure-chromium.sh` ***\n");
}

/** A headless Chromium; `extraArgs` for what one test needs on top. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!chromium) throw new Error("no chromium");
  return puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", ...extraArgs],
  });
}
