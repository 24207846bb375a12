// Finding a model's file on this host, or saying clearly what to provision (the message the job's owner reads has
// its paths redacted; the worker's log keeps them).
import { existsSync } from "node:fs";
import { ModelNotProvisioned } from "../errors";

/**
 * The first of the entry's path and its `options.fallbackPaths` that exists, or ModelNotProvisioned: `needs` says
 * what kind of file the job needs, `hint` where to get one.
 */
export function findModelFile(
  id: string,
  path: string | undefined,
  fallbacks: unknown,
  needs: string,
  hint: string,
): string {
  const candidates = [path, ...(Array.isArray(fallbacks) ? fallbacks : [])].filter(
    (p): p is string => typeof p === "string",
  );
  const found = candidates.find((p) => existsSync(p));
  if (found) return found;
  throw new ModelNotProvisioned(
    `${needs} for ${id}, and none is provisioned (looked for ${
      candidates.join(", ") || "no path: set one in the models file"
    }); ${hint}`,
  );
}
