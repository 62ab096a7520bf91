-- miniguard-server schema, version 10 (PostgreSQL): keyed audit chaining (see src/audit.rs).
-- scheme 1: SHA-256 over the row and the previous hash; scheme 2: HMAC-SHA256 with the audit key.
ALTER TABLE audit_log ADD COLUMN scheme BIGINT NOT NULL DEFAULT 1;
