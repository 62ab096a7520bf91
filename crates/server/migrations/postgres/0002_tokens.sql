-- miniguard-server schema, version 2 (PostgreSQL): access tokens beside refresh tokens, and
-- the platform session keys.
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'refresh'
    CHECK (kind IN ('access', 'refresh'));
ALTER TABLE sessions ADD COLUMN replaced_at BIGINT;
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE platform_session_keys (
    user_id     BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    envelope    BYTEA   NOT NULL,
    updated_at  BIGINT  NOT NULL
);
