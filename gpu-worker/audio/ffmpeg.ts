// ffmpeg, where the host has it: the only converter for compressed audio (mp3, ogg, webm, flac … in; mp3, opus, aac,
// flac out). Nothing is bundled; without it those formats fail clearly (input) or are delivered as WAV (output).
import { spawn, spawnSync } from "node:child_process";

let available: boolean | undefined;

export function ffmpegAvailable(): boolean {
  available ??= spawnSync(process.env.FFMPEG_PATH ?? "ffmpeg", ["-version"], { stdio: "ignore" }).status === 0;
  return available;
}

/** Pipes `input` through ffmpeg with the given output arguments; rejects with ffmpeg's last stderr lines. */
export function ffmpeg(input: Uint8Array, outputArgs: string[], signal?: AbortSignal): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.env.FFMPEG_PATH ?? "ffmpeg",
      ["-hide_banner", "-i", "pipe:0", ...outputArgs, "pipe:1"],
      {
        stdio: ["pipe", "pipe", "pipe"],
        signal,
      },
    );
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
