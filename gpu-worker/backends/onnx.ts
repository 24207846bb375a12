// onnxruntime-node sessions on the configured device: the CUDA execution provider on GPU hosts, and a logged fallback
// to the CPU when its libraries (the CUDA add-on, libcudart/libcublas 12, cuDNN 9) are missing.
import type { LoadContext } from "./types";

export type ExecutionProviders = ("cuda" | "cpu")[];

/**
 * Runs `create` with the CUDA provider first on a CUDA worker; if that throws (no CUDA add-on or libraries),
 * logs why and runs it again on the CPU. Returns what `create` made and the provider it ended on.
 */
export async function withExecutionProvider<T>(
  ctx: LoadContext,
  what: string,
  create: (providers: ExecutionProviders) => Promise<T>,
): Promise<{ value: T; provider: "cuda" | "cpu" }> {
  if (ctx.device === "cuda") {
    try {
      return { value: await create(["cuda", "cpu"]), provider: "cuda" };
    } catch (err) {
      ctx.log.warn(`${what}: the CUDA execution provider is unavailable, falling back to the CPU`, {
        error: (err instanceof Error ? err.message : String(err)).slice(0, 500),
        hint: "install onnxruntime-node's CUDA add-on (docs/gpu-worker.md) and CUDA 12 + cuDNN 9 libraries",
      });
    }
  }
  return { value: await create(["cpu"]), provider: "cpu" };
}
