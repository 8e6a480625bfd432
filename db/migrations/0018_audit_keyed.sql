-- The audit chain becomes keyed: rows written from now on carry an HMAC-SHA256 (hash_version 2) under a key
-- kept outside the database, and the id of that key. Rows already there keep their plain SHA-256 hashes
-- (hash_version 1) and are verified as before; the first keyed row covers the last of them. New rows must
-- say which scheme they use, so the default is dropped once the old rows are marked.
ALTER TABLE "audit_events" ADD COLUMN "hash_version" smallint DEFAULT 1 NOT NULL;
--> statement-breakpoint
ALTER TABLE "audit_events" ALTER COLUMN "hash_version" DROP DEFAULT;
--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "key_id" text;
--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_hash_version_check" CHECK ("hash_version" in (1, 2));
--> statement-breakpoint
-- TRUNCATE bypasses row triggers: refuse it with a statement trigger, like UPDATE and DELETE.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
