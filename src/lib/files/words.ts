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

/** Words a typo may be corrected to and from: no digits. Mirrored by file_terms_word_trgm_idx's predicate. */
export const CORRECTABLE = /^[^0-9]*$/;

/**
 * Typos a query word may carry, as the dedicated engines allow: none under 5 letters, 1 up to 8, then 2. None for a
 * word with a digit (a number or an identifier such as "invoice2024"): one digit off is another number, and such
 * words are most of a large vocabulary, which the correction index leaves out (docs/files.md "Typos").
 */
export function typoBudget(word: string): number {
  if (word.length < 5 || !CORRECTABLE.test(word)) return 0;
  return word.length < 9 ? 1 : 2;
}
