-- Search at 1,000,000 files (docs/files.md "Typos"). Hand-written.
-- Typo corrections only ever come from, and apply to, words without digits (src/lib/files/words.ts CORRECTABLE).
-- Numbers and identifiers such as "invoice2024" grow with the corpus (most of a large vocabulary), and their
-- trigrams ("inv", "nvo", …) are shared with the word they start with, so a correction lookup over them read every
-- such identifier: a cost that grew with the number of files that do not match. The trigram index now holds the
-- correctable words only.
DROP INDEX IF EXISTS "file_terms_trgm_idx";--> statement-breakpoint
CREATE INDEX "file_terms_word_trgm_idx" ON "file_terms" USING gin ("term" gin_trgm_ops) WHERE "term" !~ '[0-9]';
--> statement-breakpoint
-- Typo corrections inside the search statement (one round trip): the optimal string alignment distance (Levenshtein
-- plus adjacent transpositions), capped at max_distance + 1. Only ever run on the few candidates pg_trgm proposes
-- for a query word. Plain SQL, not PL/pgSQL (0009's first version): nothing to load or compile when a fresh PGlite
-- starts, and the same distances (docs/files.md "Typos"). Row by row of the alignment matrix: a cell is the least of
-- the cell above + 1, the diagonal + 0/1 and the transposition two back + 1, or the cell to its left + 1; that left
-- dependency is a running minimum, cur[j] = j + min over k <= j of (x[k] - k), so each row is one window query. It
-- stops when a whole row exceeds max_distance: no later cell can come back under it.
CREATE OR REPLACE FUNCTION file_word_distance(a text, b text, max_distance integer) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$
  WITH RECURSIVE rows(i, prev2, prev, best) AS (
    SELECT 0, NULL::int[], array(SELECT generate_series(0, length(b))), 0
    UNION ALL
    SELECT r.i + 1, r.prev, cur.d, (SELECT min(v) FROM unnest(cur.d) AS v)
    FROM rows r, LATERAL (
      SELECT array(
        SELECT j + min(x - j) OVER (ORDER BY j)
        FROM (
          SELECT 0 AS j, r.i + 1 AS x
          UNION ALL
          SELECT j, least(r.prev[j + 1] + 1,
              r.prev[j] + (substr(a, r.i + 1, 1) <> substr(b, j, 1))::int,
              CASE WHEN r.i >= 1 AND j > 1 AND substr(a, r.i + 1, 1) = substr(b, j - 1, 1)
                AND substr(a, r.i, 1) = substr(b, j, 1) THEN r.prev2[j - 1] + 1 END)
          FROM generate_series(1, length(b)) AS j
        ) AS cells
        ORDER BY j
      ) AS d
    ) AS cur
    WHERE r.i < length(a) AND r.best <= max_distance
  )
  SELECT CASE WHEN abs(length(a) - length(b)) > max_distance THEN max_distance + 1
    ELSE (SELECT CASE WHEN r.i = length(a) THEN least(r.prev[length(b) + 1], max_distance + 1) ELSE max_distance + 1 END
          FROM rows r ORDER BY r.i DESC LIMIT 1) END
$$;
