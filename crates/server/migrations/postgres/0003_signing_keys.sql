-- miniguard-server schema, version 3 (PostgreSQL): the encrypted request-signing key of an
-- access token.
ALTER TABLE sessions ADD COLUMN signing_key BYTEA;
