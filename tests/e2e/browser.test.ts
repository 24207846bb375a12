// The official `openai` SDK in headless Chromium (Debian's `chromium`, driven by puppeteer-core), from a page on an
// allowed origin and from one that is not: the browser's own CORS preflight must pass the SDK's x-stainless-* headers
// for the first, and refuse the second. `scripts/ensure-chromium.sh` installs chromium; CI fails without it.
import { build } from "esbuild";
import type { Browser } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { chromium, launchChromium } from "./chromium";
import { signUp, type User } from "./users";

const base = inject("workerUrl");
/** In wrangler.toml's CORS_ORIGINS, which the suite keeps. */
const ALLOWED = "http://localhost:3000";
const REFUSED = "http://evil.example";

let browser: Browser;
let sdkBundle: string;
let user: User;

beforeAll(async () => {
  if (!chromium) return;
  // The SDK as a web page would load it: bundled for the browser, exposed as a global.
  const out = await build({
    stdin: { contents: 'export { default as OpenAI } from "openai";', resolveDir: process.cwd(), loader: "js" },
    bundle: true,
    format: "iife",
    globalName: "OpenAISdk",
    platform: "browser",
    write: false,
  });
  sdkBundle = out.outputFiles[0]?.text ?? "";
  user = await signUp("browser");
  // The page's origin is answered by request interception, so Chromium counts it as public and its Local Network
  // Access check would block any call to the suite on 127.0.0.1 before CORS is even asked: a deployment is public
  // too, so that check says nothing about Tessera's CORS, which is what these tests are for.
  browser = await launchChromium([
    "--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessRespectPreflightResults",
  ]);
});
afterAll(async () => {
  await browser?.close();
});

/** A page served at `origin` (answered by the test itself) that loaded the SDK. */
async function pageAt(origin: string) {
  const page = await browser.newPage();
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    if (request.url().startsWith(origin)) {
      void request.respond({ status: 200, contentType: "text/html", body: "<!doctype html><title>app</title>" });
    } else void request.continue();
  });
  await page.goto(`${origin}/`);
  await page.addScriptTag({ content: sdkBundle });
  return page;
}

/** Runs a speech request the server refuses (an unknown voice) through the SDK in the page: what the page saw. */
async function sdkCallFrom(origin: string) {
  const page = await pageAt(origin);
  try {
    return await page.evaluate(
      async (baseURL, apiKey) => {
        const { OpenAI } = (globalThis as unknown as { OpenAISdk: { OpenAI: new (o: object) => unknown } }).OpenAISdk;
        const client = new OpenAI({ apiKey, baseURL, dangerouslyAllowBrowser: true, maxRetries: 0 }) as {
          audio: { speech: { create(body: object): Promise<unknown> } };
        };
        try {
          await client.audio.speech.create({ model: "tts-1", input: "hi", voice: "darth" });
          return { kind: "ok" };
        } catch (err) {
          const e = err as { constructor: { name: string }; status?: number; error?: { code?: string } };
          return { kind: e.constructor.name, status: e.status ?? null, code: e.error?.code ?? null };
        }
      },
      `${base}/v1`,
      user.token,
    );
  } finally {
    await page.close();
  }
}

describe.skipIf(!chromium)("the openai SDK in headless Chromium", () => {
  it("gets through the preflight from an allowed origin: the server's 400 reaches the SDK", async () => {
    expect(await sdkCallFrom(ALLOWED)).toEqual({ kind: "BadRequestError", status: 400, code: "invalid_request" });
  });

  it("is refused by the browser from an origin not in CORS_ORIGINS: the SDK sees no response", async () => {
    expect(await sdkCallFrom(REFUSED)).toMatchObject({ kind: "APIConnectionError", status: null });
  });

  it("answers the preflight with every header the SDK sends", async () => {
    const res = await fetch(`${base}/v1/audio/speech`, {
      method: "OPTIONS",
      headers: {
        origin: ALLOWED,
        "access-control-request-method": "POST",
        "access-control-request-headers":
          "authorization,content-type,x-stainless-retry-count,x-stainless-timeout,x-stainless-os,openai-project,idempotency-key",
      },
    });
    expect(res.status).toBeLessThan(300);
    const allowed = (res.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/\s*,\s*/);
    for (const h of [
      "x-stainless-retry-count",
      "x-stainless-timeout",
      "x-stainless-os",
      "openai-project",
      "idempotency-key",
    ]) {
      expect(allowed).toContain(h);
    }
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
  });
});
