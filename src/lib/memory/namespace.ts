// What a key-value namespace name may be, and the MEMORY_SHARED_NAMESPACES config that names team namespaces.
// Only zod here: env.ts parses the config with it, so it must not import anything that imports env.ts.
import { z } from "zod";

const NAMESPACE_MAX_LENGTH = 64;

export const Namespace = z
  .string()
  .min(1)
  .max(NAMESPACE_MAX_LENGTH)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "letters, digits, '.', '_' and '-', starting with a letter or digit");

/** Team namespace → the roles allowed to use it, e.g. {"team-research":["researcher","admin"]}. */
export const SharedNamespacesSchema = z.record(Namespace, z.array(z.string().min(1).max(32)).min(1).max(16));
