// One way to turn text into words, shared by indexing (names, paths, the vocabulary) and by queries, so that what
// a query looks for is exactly what the index holds.

/** Lower case without accents ("Café" → "cafe"), as the `files_search` configuration's unaccent sees it. */
export function fold(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase();
}

/** Letters and digits only: also what makes a word safe inside to_tsquery's syntax and a LIKE pattern. */
const WORD = /[\p{L}\p{N}]+/gu;

export function words(text: string): string[] {
  return fold(text).match(WORD) ?? [];
}

/** "getUserProfile_v2.test.ts" → "getuserprofile v2 test ts get user profile": the whole parts and their pieces. */
export function identifierWords(text: string): string {
  const pieces = text.replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, "$1 $2").replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, "$1 $2");
  const whole = words(text);
  const split = words(pieces).filter((w) => !whole.includes(w));
  return [...whole, ...split].join(" ");
}

/** Words worth keeping in the vocabulary for typo correction: at least 3 characters, at most 40. */
const VOCABULARY_WORD = { minLength: 3, maxLength: 40 } as const;

/** The distinct vocabulary words of some texts, at most `max` of them (first come first kept). */
export function vocabulary(texts: readonly string[], max: number): string[] {
  const seen = new Set<string>();
  for (const text of texts) {
    for (const w of words(text)) {
      if (w.length < VOCABULARY_WORD.minLength || w.length > VOCABULARY_WORD.maxLength) continue;
      seen.add(w);
      if (seen.size >= max) return [...seen];
    }
  }
  return [...seen];
}

/**
 * Optimal string alignment distance (Levenshtein plus adjacent transpositions, so "recieve" is one typo from
 * "receive"), giving up early past `max`.
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1).fill(0);
    row[0] = i;
    rows.push(row);
  }
  for (let j = 0; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    const prev = rows[i - 1] as number[];
    let best = Number.POSITIVE_INFINITY;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = d;
      best = Math.min(best, d);
    }
    if (best > max) return max + 1;
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/** Typos a query word may carry, as the dedicated engines allow: none under 5 letters, 1 up to 8, then 2. */
export function typoBudget(word: string): number {
  if (word.length < 5) return 0;
  return word.length < 9 ? 1 : 2;
}
