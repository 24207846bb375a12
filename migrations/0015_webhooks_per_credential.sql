-- Webhook endpoints per service credential (docs/notifications.md): an endpoint belongs to a user or to a credential
-- (svc_…, kept by the ServiceCredentials object, so no foreign key), never both.
ALTER TABLE "webhook_endpoints" ALTER COLUMN "user_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD COLUMN "credential_id" text;--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_one_owner" CHECK (("user_id" IS NULL) <> ("credential_id" IS NULL));--> statement-breakpoint
CREATE INDEX "webhook_endpoints_credential_idx" ON "webhook_endpoints" USING btree ("credential_id");
