-- miniguard-server schema, version 10: keyed audit chaining (see src/audit.rs).
-- scheme 1: SHA-256 over the row and the previous hash (rows written before this version);
-- scheme 2: HMAC-SHA256 with the audit key, a key of its own kept outside the database.
ALTER TABLE audit_log ADD COLUMN scheme INTEGER NOT NULL DEFAULT 1;
