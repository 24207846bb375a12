-- Search at scale (docs/files.md "How it runs"). Hand-written.
-- 1. Names and tags get their own small full-text index: a common word is ranked by where it is found first, and
--    the files that carry it in their name are found without touching the large text index's posting lists.
ALTER TABLE "files" ADD COLUMN "name_search" "tsvector" GENERATED ALWAYS AS (setweight(to_tsvector('files_search'::regconfig, "name_words"), 'A') || setweight(to_tsvector('files_search'::regconfig, memory_tags_text("rule_tags") || ' ' || memory_tags_text("user_tags")), 'B')) STORED NOT NULL;--> statement-breakpoint
CREATE INDEX "files_name_search_idx" ON "files" USING gin ("name_search");--> statement-breakpoint
-- 2. Filter-only queries: the type filter (a category or an extension) by btree, newest first.
CREATE INDEX "files_user_category_idx" ON "files" USING btree ("user_id","category","updated_at","id");--> statement-breakpoint
CREATE INDEX "files_user_extension_idx" ON "files" USING btree ("user_id","extension","updated_at","id");--> statement-breakpoint
-- (The typo distance function file_word_distance, first written here in PL/pgSQL, is created by 0016 in SQL: a
--    PL/pgSQL body made every fresh PGlite start load and compile the language. A database migrated before keeps
--    this file's old body until 0016 replaces it; both compute the same distances.)
-- 3. Prefixes as typed: a range of the user's vocabulary in byte order (text_pattern_ops), whatever the collation.
CREATE INDEX "file_terms_prefix_idx" ON "file_terms" USING btree ("user_id","term" text_pattern_ops);
