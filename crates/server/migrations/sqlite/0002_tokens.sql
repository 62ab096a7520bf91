-- miniguard-server schema, version 2: access and refresh tokens, encrypted platform session keys.

-- Every login issues an access token and a refresh token of one family. A rotated refresh token
-- is kept with replaced_at set, so presenting it again is recognised as reuse.
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'refresh'
    CHECK (kind IN ('access', 'refresh'));
ALTER TABLE sessions ADD COLUMN replaced_at INTEGER;
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- The platform's session_key (WeChat), the latest per user, as an AES-256-GCM envelope from
-- miniguard-crypto bound to its table, column and user id.
CREATE TABLE platform_session_keys (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    envelope    BLOB    NOT NULL,
    updated_at  INTEGER NOT NULL
);
