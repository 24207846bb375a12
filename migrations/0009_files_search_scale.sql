-- Search at scale (docs/files.md "How it runs"). Hand-written.
-- 1. Names and tags get their own small full-text index: a common word is ranked by where it is found first, and
--    the files that carry it in their name are found without touching the large text index's posting lists.
ALTER TABLE "files" ADD COLUMN "name_search" "tsvector" GENERATED ALWAYS AS (setweight(to_tsvector('files_search'::regconfig, "name_words"), 'A') || setweight(to_tsvector('files_search'::regconfig, memory_tags_text("rule_tags") || ' ' || memory_tags_text("user_tags")), 'B')) STORED NOT NULL;--> statement-breakpoint
CREATE INDEX "files_name_search_idx" ON "files" USING gin ("name_search");--> statement-breakpoint
-- 2. Filter-only queries: the type filter (a category or an extension) by btree, newest first.
CREATE INDEX "files_user_category_idx" ON "files" USING btree ("user_id","category","updated_at","id");--> statement-breakpoint
CREATE INDEX "files_user_extension_idx" ON "files" USING btree ("user_id","extension","updated_at","id");--> statement-breakpoint
-- 3. Prefixes as typed: a range of the user's vocabulary in byte order (text_pattern_ops), whatever the collation.
CREATE INDEX "file_terms_prefix_idx" ON "file_terms" USING btree ("user_id","term" text_pattern_ops);--> statement-breakpoint
-- 4. Typo corrections inside the search statement (one round trip): the optimal string alignment distance
--    (Levenshtein plus adjacent transpositions), giving up past max_distance. Only ever run on the few candidates
--    pg_trgm proposes for a query word.
CREATE OR REPLACE FUNCTION file_word_distance(a text, b text, max_distance integer) RETURNS integer
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
  AS $$
DECLARE
  la integer := length(a);
  lb integer := length(b);
  prev2 integer[];
  prev integer[];
  cur integer[];
  best integer;
  cost integer;
  d integer;
BEGIN
  IF abs(la - lb) > max_distance THEN RETURN max_distance + 1; END IF;
  prev := array_fill(0, ARRAY[lb + 1], ARRAY[0]);
  FOR j IN 0..lb LOOP prev[j] := j; END LOOP;
  prev2 := prev;
  FOR i IN 1..la LOOP
    cur := array_fill(0, ARRAY[lb + 1], ARRAY[0]);
    cur[0] := i;
    best := i;
    FOR j IN 1..lb LOOP
      cost := CASE WHEN substr(a, i, 1) = substr(b, j, 1) THEN 0 ELSE 1 END;
      d := least(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      IF i > 1 AND j > 1 AND substr(a, i, 1) = substr(b, j - 1, 1) AND substr(a, i - 1, 1) = substr(b, j, 1) THEN
        d := least(d, prev2[j - 2] + 1);
      END IF;
      cur[j] := d;
      best := least(best, d);
    END LOOP;
    IF best > max_distance THEN RETURN max_distance + 1; END IF;
    prev2 := prev;
    prev := cur;
  END LOOP;
  RETURN least(prev[lb], max_distance + 1);
END
$$;
