// One definition of "control character" for every name the API accepts (keys, tags, paths). No imports: env.ts's
// config schemas use it, so it must not pull in anything that imports env.ts.

/** C0, DEL and C1 controls: invisible in logs and dashboards, and some break KV's REST API. */
export function hasControlCharacters(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}
