-- miniguard-server schema, version 1: users, sessions, the audit log, nonces.
-- Times are INTEGER milliseconds since the Unix epoch.

CREATE TABLE users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    platform    TEXT    NOT NULL,           -- 'wechat', later 'alipay', 'douyin'
    openid      TEXT    NOT NULL,
    unionid     TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (platform, openid)
);
CREATE INDEX users_unionid ON users (unionid) WHERE unionid IS NOT NULL;

-- Opaque tokens are stored only as hashes; a family is one login's chain of refresh tokens.
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  BLOB    NOT NULL UNIQUE,
    family_id   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_family ON sessions (family_id);

-- Append-only, hash-chained (see src/audit.rs). AUTOINCREMENT keeps the highest id ever issued in
-- sqlite_sequence, which lets `audit-log verify` notice a cut-off tail.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL UNIQUE
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Replay protection for signed requests: a nonce is remembered until its timestamp leaves the window.
CREATE TABLE nonces (
    nonce       TEXT    PRIMARY KEY,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX nonces_expiry ON nonces (expires_at);
