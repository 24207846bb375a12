CREATE TABLE "llm_usage" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"completion_id" text NOT NULL,
	"user_id" text NOT NULL,
	"credential_id" text,
	"kind" text NOT NULL,
	"alias" text NOT NULL,
	"provider" text,
	"model" text,
	"prompt_tokens" integer DEFAULT 0 NOT NULL,
	"completion_tokens" integer DEFAULT 0 NOT NULL,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	"latency_ms" integer DEFAULT 0 NOT NULL,
	"cache_hit" boolean DEFAULT false NOT NULL,
	"status" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "llm_usage_user_created_idx" ON "llm_usage" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "llm_usage_credential_created_idx" ON "llm_usage" USING btree ("credential_id","created_at") WHERE "llm_usage"."credential_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "llm_usage_completion_idx" ON "llm_usage" USING btree ("completion_id");
