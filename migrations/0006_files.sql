CREATE TABLE "file_terms" (
	"user_id" uuid NOT NULL,
	"term" text NOT NULL,
	CONSTRAINT "file_terms_user_id_term_pk" PRIMARY KEY("user_id","term")
);
--> statement-breakpoint
CREATE TABLE "files" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"path" text NOT NULL,
	"name" text NOT NULL,
	"extension" text DEFAULT '' NOT NULL,
	"media_type" text NOT NULL,
	"magic_type" text,
	"category" text NOT NULL,
	"size" bigint NOT NULL,
	"sha256" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"rule_tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"user_tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"tags" text[] GENERATED ALWAYS AS (file_tags_union("rule_tags", "user_tags")) STORED NOT NULL,
	"name_key" text NOT NULL,
	"path_key" text NOT NULL,
	"name_words" text NOT NULL,
	"path_words" text NOT NULL,
	"content" text,
	"text_status" text NOT NULL,
	"content_truncated" boolean DEFAULT false NOT NULL,
	"indexed_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"search" "tsvector" GENERATED ALWAYS AS (setweight(to_tsvector('files_search'::regconfig, "name_words"), 'A') || setweight(to_tsvector('files_search'::regconfig, memory_tags_text("rule_tags") || ' ' || memory_tags_text("user_tags")), 'B') || setweight(to_tsvector('files_search'::regconfig, "path_words"), 'C') || setweight(to_tsvector('files_search'::regconfig, coalesce("content", '')), 'D')) STORED NOT NULL
);
--> statement-breakpoint
ALTER TABLE "file_terms" ADD CONSTRAINT "file_terms_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "files" ADD CONSTRAINT "files_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "file_terms_trgm_idx" ON "file_terms" USING gin ("term" gin_trgm_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "files_user_path_key" ON "files" USING btree ("user_id","path");--> statement-breakpoint
CREATE INDEX "files_user_updated_idx" ON "files" USING btree ("user_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "files_user_size_idx" ON "files" USING btree ("user_id","size","id");--> statement-breakpoint
CREATE INDEX "files_user_sha_idx" ON "files" USING btree ("user_id","sha256");--> statement-breakpoint
CREATE INDEX "files_search_idx" ON "files" USING gin ("search");--> statement-breakpoint
CREATE INDEX "files_tags_idx" ON "files" USING gin ("tags");--> statement-breakpoint
CREATE INDEX "files_name_trgm_idx" ON "files" USING gin ("name_key" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "files_path_trgm_idx" ON "files" USING gin ("path_key" gin_trgm_ops);