-- Custom SQL migration file, put your code below! --
-- What drizzle cannot express for files (0006): the extensions, a text search configuration and a tags function.
-- pg_trgm: trigram indexes for typos and substrings. unaccent: "café" and "cafe" index and match alike.
-- Both ship with Postgres's contrib (Neon allows them) and with PGlite (dev/db-bridge/pglite-backend.ts loads them).
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS unaccent;--> statement-breakpoint
-- English stemming after unaccent. to_tsvector with a named configuration is IMMUTABLE, so a generated column may
-- use it, where calling unaccent() itself (only STABLE) would not be allowed.
CREATE TEXT SEARCH CONFIGURATION files_search (COPY = english);--> statement-breakpoint
ALTER TEXT SEARCH CONFIGURATION files_search
  ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;--> statement-breakpoint
-- The rule tags and the user's tags as one sorted set: the generated `tags` column. Depends on nothing but its
-- input, so it may honestly say IMMUTABLE.
CREATE OR REPLACE FUNCTION file_tags_union(rule_tags text[], user_tags text[]) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT coalesce(array_agg(DISTINCT t ORDER BY t), '{}'::text[]) FROM unnest(rule_tags || user_tags) AS t $$;
