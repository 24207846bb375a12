-- Custom SQL migration file, put your code below! --
-- The memories search column is generated, and a generated column may call only IMMUTABLE functions.
-- array_to_string is only STABLE (it calls the element type's output function), but for text[] its result
-- depends on nothing but its input, so this wrapper may honestly say IMMUTABLE. Works on Postgres 15 to 18.
CREATE OR REPLACE FUNCTION memory_tags_text(tags text[]) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT array_to_string(tags, ' ') $$;
