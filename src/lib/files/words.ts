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
export const VOCABULARY_WORD = { minLength: 3, maxLength: 40 } as const;

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

/** Typos a query word may carry, as the dedicated engines allow: none under 5 letters, 1 up to 8, then 2. */
export function typoBudget(word: string): number {
  if (word.length < 5) return 0;
  return word.length < 9 ? 1 : 2;
}
