// 405 instead of 404 when the path exists but the method does not.
import type { Method, Operation } from "./router";

interface Pattern {
  regex: RegExp;
  method: Method;
}

function compile(path: string): RegExp {
  const source = path
    .split("/")
    .map((segment) =>
      segment.startsWith(":") ? "[^/]+" : segment === "*" ? ".*" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("/");
  return new RegExp(`^${source}/?$`);
}

/** Built once per isolate from the route table; answers which methods a path supports. */
export function methodIndex(operations: Operation[]): (path: string) => string[] {
  const patterns: Pattern[] = operations.map((op) => ({ regex: compile(op.path), method: op.method }));
  return (path) => {
    const methods = new Set<string>();
    for (const p of patterns) if (p.regex.test(path)) methods.add(p.method.toUpperCase());
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods];
  };
}
