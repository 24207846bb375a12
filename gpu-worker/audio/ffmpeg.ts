// ffmpeg, the converter for compressed audio (mp3, ogg, webm, flac … in; mp3, opus, aac, flac out). The worker's own
// install brings one (the @ffmpeg-installer/ffmpeg package's static build); FFMPEG_PATH picks another (Debian's
// /usr/bin/ffmpeg on a GPU host); the one on PATH is the last resort. docs/gpu-worker.md "Audio codecs".
import { spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";

/** The codecs a job may need, as ffmpeg names them. */
const WANTED = ["mp3", "libmp3lame", "opus", "libopus", "aac", "flac", "vorbis", "pcm_s16le"] as const;

export interface Codecs {
  /** Where the binary came from: `FFMPEG_PATH`, `bundled` (the npm package), `PATH`, or `none`. */
  source: "FFMPEG_PATH" | "bundled" | "PATH" | "none";
  decode: string[];
  encode: string[];
}

function bundledPath(): string | undefined {
  try {
    // The package resolves the build for this platform and throws where it ships none.
    const pkg = createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as { path?: unknown };
    return typeof pkg.path === "string" ? pkg.path : undefined;
  } catch {
    return undefined;
  }
}

const runs = (bin: string) => spawnSync(bin, ["-version"], { stdio: "ignore" }).status === 0;

type Found = { bin: string; source: Codecs["source"] } | null;
/** By FFMPEG_PATH (read at each use, so a test can point it elsewhere): each is looked for once. */
const resolved = new Map<string, Found>();

/** The ffmpeg to run. */
function resolveFfmpeg(): Found {
  const configured = process.env.FFMPEG_PATH;
  const known = resolved.get(configured ?? "");
  if (known !== undefined) return known;
  const bundled = bundledPath();
  const chosen: Found = configured
    ? runs(configured)
      ? { bin: configured, source: "FFMPEG_PATH" }
      : null
    : bundled && runs(bundled)
      ? { bin: bundled, source: "bundled" }
      : runs("ffmpeg")
        ? { bin: "ffmpeg", source: "PATH" }
        : null;
  resolved.set(configured ?? "", chosen);
  return chosen;
}

export function ffmpegAvailable(): boolean {
  return resolveFfmpeg() !== null;
}

const codecsByBin = new Map<string, Codecs>();

/** What this host's ffmpeg decodes and encodes among the codecs jobs use (WAV needs no ffmpeg at all). */
export function ffmpegCodecs(): Codecs {
  const found = resolveFfmpeg();
  if (!found) return { source: "none", decode: ["pcm_s16le"], encode: ["pcm_s16le"] };
  const known = codecsByBin.get(found.bin);
  if (known) return known;
  const listed = spawnSync(found.bin, ["-hide_banner", "-codecs"], { encoding: "utf8" }).stdout ?? "";
  const decode = new Set<string>();
  const encode = new Set<string>();
  for (const line of listed.split("\n")) {
    // " DEA.L. mp3   MP3 (MPEG audio layer 3) (decoders: mp3float mp3) (encoders: libmp3lame)"
    const m = /^\s([D.])([E.])A[.I][.L][.S]\s+(\S+)(.*)$/.exec(line);
    if (!m) continue;
    const [, d, e, name = "", rest = ""] = m;
    const encoders = /\(encoders: ([^)]+)\)/.exec(rest)?.[1]?.trim().split(/\s+/) ?? [name];
    const decoders = /\(decoders: ([^)]+)\)/.exec(rest)?.[1]?.trim().split(/\s+/) ?? [name];
    if (d === "D") for (const n of [name, ...decoders]) decode.add(n);
    if (e === "E") for (const n of [name, ...encoders]) encode.add(n);
  }
  const pick = (set: Set<string>) => WANTED.filter((n) => set.has(n));
  const codecs: Codecs = { source: found.source, decode: pick(decode), encode: pick(encode) };
  codecsByBin.set(found.bin, codecs);
  return codecs;
}

/** Pipes `input` through ffmpeg with the given output arguments; rejects with ffmpeg's last stderr lines. */
export function ffmpeg(input: Uint8Array, outputArgs: string[], signal?: AbortSignal): Promise<Uint8Array> {
  const found = resolveFfmpeg();
  if (!found) return Promise.reject(new Error("no ffmpeg on this host"));
  return new Promise((resolve, reject) => {
    const child = spawn(found.bin, ["-hide_banner", "-i", "pipe:0", ...outputArgs, "pipe:1"], {
      stdio: ["pipe", "pipe", "pipe"],
      signal,
    });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-2000);
    });
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve(new Uint8Array(Buffer.concat(chunks)));
      else reject(new Error(`ffmpeg exited ${code}: ${stderr.trim().split("\n").slice(-3).join(" ")}`));
    });
    child.stdin.on("error", () => {}); // ffmpeg may close stdin early on bad input; the exit code reports it
    child.stdin.end(input);
  });
}
