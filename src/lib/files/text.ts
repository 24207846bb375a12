// The text a file contributes to the index: UTF-8 only, binary and invalid text refused, HTML reduced to what a
// reader sees, capped at FILES_INDEX_MAX_BYTES.

/** Where a file's text stands in the index. */
export const TEXT_STATUSES = ["indexed", "queued", "binary", "invalid_utf8", "empty", "failed"] as const;
export type TextStatus = (typeof TEXT_STATUSES)[number];

/** How far into the bytes the binary check looks (as git and file(1) do). */
const SNIFF_BYTES = 8192;

/** NUL, or more than 10% control characters other than tab, newline, form feed and carriage return. */
export function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, SNIFF_BYTES);
  let controls = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i] as number;
    if (b === 0) return true;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) controls++;
  }
  return n > 0 && controls * 10 > n;
}

/** The length of `bytes` cut at `max` without splitting a UTF-8 sequence. */
function utf8Boundary(bytes: Uint8Array, max: number): number {
  if (bytes.length <= max) return bytes.length;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) to the start of the sequence that crosses the cut.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return end;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Whether the bytes are UTF-8 text, looking at the first `max` bytes only. */
function decodeText(
  bytes: Uint8Array,
  max: number,
): { ok: true; text: string; truncated: boolean } | { ok: false; reason: "binary" | "invalid_utf8" } {
  if (looksBinary(bytes)) return { ok: false, reason: "binary" };
  const end = utf8Boundary(bytes, max);
  try {
    return { ok: true, text: strictUtf8.decode(bytes.subarray(0, end)), truncated: end < bytes.length };
  } catch {
    return { ok: false, reason: "invalid_utf8" };
  }
}

/** The entities pages use most; others stay as written (numeric ones are all decoded). */
const ENTITIES: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  copy: "©",
  reg: "®",
  euro: "€",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  laquo: "«",
  raquo: "»",
  szlig: "ß",
  ...Object.fromEntries(
    [..."aeiouAEIOU"].flatMap((v) =>
      (
        [
          ["acute", "\u0301"],
          ["grave", "\u0300"],
          ["circ", "\u0302"],
          ["uml", "\u0308"],
        ] as const
      ).map(([name, mark]) => [`${v}${name}`, `${v}${mark}`.normalize("NFC")]),
    ),
  ),
  ccedil: "ç",
  Ccedil: "Ç",
  ntilde: "ñ",
  Ntilde: "Ñ",
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (whole, code: string) => {
    if (code[0] === "#") {
      const n = code[1] === "x" || code[1] === "X" ? Number.parseInt(code.slice(2), 16) : Number(code.slice(1));
      return n > 0 && n <= 0x10ffff && !(n >= 0xd800 && n <= 0xdfff) ? String.fromCodePoint(n) : " ";
    }
    return ENTITIES[code] ?? ENTITIES[code.toLowerCase()] ?? whole;
  });
}

/** What a reader of the page sees: no scripts, styles, comments or tags; entities decoded; whitespace collapsed. */
export function htmlToText(html: string): string {
  return decodeEntities(
    html
      .replace(/<!--[\s\S]*?(-->|$)/g, " ")
      .replace(/<(script|style|template|noscript)\b[\s\S]*?(<\/\1\s*>|$)/gi, " ")
      .replace(/<[^>]*>/g, " "),
  )
    .replace(/[ \t\f\v\r]+/g, " ")
    .replace(/\n\s*\n+/g, "\n\n")
    .trim();
}

/**
 * Postgres text cannot hold NUL (the binary check refuses it; this is the belt to that brace), and U+E000/U+E001
 * mark highlights inside search snippets (src/lib/files/search.ts), so a file's own copies of them are dropped.
 */
const stripNul = (text: string) => text.replaceAll("\u0000", "").replaceAll("\uE000", "").replaceAll("\uE001", "");

export type Extracted =
  | { status: "indexed"; content: string; truncated: boolean }
  | { status: "binary" | "invalid_utf8" | "empty"; content: null; truncated: false };

/** The index text of some bytes. `magicType`: a binary signature was found, so the bytes are not text. */
export function extractText(
  bytes: Uint8Array,
  opts: { magicType: string | null; html: boolean; maxBytes: number },
): Extracted {
  if (bytes.length === 0) return { status: "empty", content: null, truncated: false };
  if (opts.magicType) return { status: "binary", content: null, truncated: false };
  const decoded = decodeText(bytes, opts.maxBytes);
  if (!decoded.ok) return { status: decoded.reason, content: null, truncated: false };
  const text = stripNul(opts.html ? htmlToText(decoded.text) : decoded.text);
  return { status: "indexed", content: text, truncated: decoded.truncated };
}
