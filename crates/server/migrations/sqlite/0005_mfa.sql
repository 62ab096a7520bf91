-- miniguard-server schema, version 5: second factors, step-up state of logins, staff accounts,
-- per-account failure counters. Times are INTEGER milliseconds since the Unix epoch.

-- One TOTP factor per user: the secret as an AES-256-GCM envelope bound to the user id; pending
-- until confirmed with a first code; last_step is the newest accepted time step (never reused).
CREATE TABLE mfa_totp (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret        BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    confirmed_at  INTEGER,
    last_step     INTEGER
);

-- Recovery codes as SHA-256 hashes; a used code keeps its row with used_at set.
CREATE TABLE mfa_recovery_codes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash   BLOB    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes (user_id);

-- The phone number SMS codes go to is the one bound through the platform (user_phones, version 4).

-- One-time challenges of the SMS and SOTER factors, bound to the login (token family) that asked.
-- SMS: secret_hash is SHA-256 over the challenge id and the code. SOTER: challenge is the random
-- text the device signs.
CREATE TABLE mfa_challenges (
    id           TEXT    PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('sms', 'soter')),
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id    TEXT    NOT NULL,
    secret_hash  BLOB,
    challenge    TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    used_at      INTEGER
);
CREATE INDEX mfa_challenges_expiry ON mfa_challenges (expires_at);

-- Per login (token family): when a second factor was last verified, and whether the login is
-- limited to TOTP enrolment (a staff account without a factor yet).
CREATE TABLE session_mfa (
    family_id   TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mfa_at      INTEGER,
    method      TEXT,
    limited     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX session_mfa_user ON session_mfa (user_id);

-- Staff accounts (admin, operator): a `users` row with platform 'local' and openid = username,
-- so sessions, factors, audit and roles key on users.id like everyone else; the password hash
-- lives here, away from the platform columns.
CREATE TABLE local_accounts (
    user_id        INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    username       TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
);

-- Roles: staff accounts get `admin` or `operator` here; the data API's rules (`role:X`) read
-- every role a user holds.
CREATE TABLE user_roles (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL,
    granted_at  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, role)
);

-- Failure counters of the progressive lockout (src/lockout.rs), per (account, client address)
-- and per account.
CREATE TABLE auth_failures (
    key              TEXT    PRIMARY KEY,
    failures         INTEGER NOT NULL,
    last_failure_at  INTEGER NOT NULL,
    locked_until     INTEGER NOT NULL
);
