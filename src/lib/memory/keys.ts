// Where each key of the key-value API lives in Workers KV, and who may use which namespace.
//
// The MEMORY namespace holds, by prefix:
//   u:<userId>:<namespace>:<key>   a user's own keys (the user id comes from the verified token, never the client)
//   ns:<namespace>:<key>           a team namespace named in MEMORY_SHARED_NAMESPACES
//   mem:<memoryId>                 the cache of agent memories (src/lib/memory/memories.ts)
//   __tessera_health__             /health's probe
// A client only ever names <namespace> and <key>, so it cannot reach a prefix it was not given.
import type { Context } from "hono";
import { authorize, principal } from "../identity/auth";
import { hasControlCharacters } from "../platform/control-characters";
import type { AppEnv } from "../platform/env";
import { ApiError, type Issue } from "../platform/errors";

/** Workers KV's own limit on a key, in bytes (UTF-8), our prefix included. */
export const KV_KEY_MAX_BYTES = 512;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export { hasControlCharacters };

export const USER_PREFIX = "u:";
const SHARED_PREFIX = "ns:";
export const MEMORY_CACHE_PREFIX = "mem:";

/** A namespace as the caller may use it: the KV prefix its keys live under. */
export interface KeyScope {
  namespace: string;
  prefix: string;
  /** How many bytes of key the caller has left once the prefix is added. */
  maxKeyBytes: number;
}

const utf8 = new TextEncoder();
export const byteLength = (s: string): number => utf8.encode(s).byteLength;

/**
 * The caller's scope for `namespace`. A personal namespace needs only the token. A team namespace is
 * checked against the user's roles as they are in the database now (a live session), so a demoted user
 * loses it at once rather than when the token expires; that costs one query, on team namespaces only.
 */
export async function resolveScope(c: Context<AppEnv>, namespace: string): Promise<KeyScope> {
  const allowed = c.get("config").memorySharedNamespaces.get(namespace);
  let prefix: string;
  if (allowed) {
    const me = await authorize(c, "session");
    if (!me?.roles.some((role) => allowed.includes(role))) {
      throw new ApiError("forbidden", `Namespace '${namespace}' is open to the roles ${allowed.join(", ")} only`);
    }
    prefix = `${SHARED_PREFIX}${namespace}:`;
  } else {
    prefix = `${USER_PREFIX}${principal(c).sub}:${namespace}:`;
  }
  return { namespace, prefix, maxKeyBytes: KV_KEY_MAX_BYTES - byteLength(prefix) };
}

function keyProblem(key: string, scope: KeyScope, allowEmpty: boolean): Omit<Issue, "path"> | undefined {
  if (key.length === 0) return allowEmpty ? undefined : { code: "too_small", message: "A key cannot be empty" };
  if (hasControlCharacters(key)) return { code: "invalid_key", message: "A key cannot contain control characters" };
  if (LONE_SURROGATE.test(key)) return { code: "invalid_key", message: "A key must be valid Unicode" };
  const bytes = byteLength(key);
  if (bytes > scope.maxKeyBytes) {
    return {
      code: "too_big",
      message: `A key in namespace '${scope.namespace}' may be at most ${scope.maxKeyBytes} bytes (UTF-8); this one is ${bytes}`,
    };
  }
  return undefined;
}

/** The KV name for a caller's key, or 400 naming the rule it breaks. */
export function kvKey(scope: KeyScope, key: string, path: Issue["path"] = ["path", "key"]): string {
  const problem = keyProblem(key, scope, false);
  if (problem) throw new ApiError("invalid_request", problem.message, { issues: [{ path, ...problem }] });
  return scope.prefix + key;
}

/** A list prefix follows the key rules, except that it may be empty. */
export function kvPrefix(scope: KeyScope, prefix: string): string {
  const problem = keyProblem(prefix, scope, true);
  if (problem) {
    throw new ApiError("invalid_request", problem.message, { issues: [{ path: ["query", "prefix"], ...problem }] });
  }
  return scope.prefix + prefix;
}

/** The caller's key back from a KV name listed under their scope. */
export function userKey(scope: KeyScope, name: string): string {
  return name.slice(scope.prefix.length);
}
