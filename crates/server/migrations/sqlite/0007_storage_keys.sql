-- miniguard-server schema, version 7: each user's client storage key (the SDK's encrypted
-- storage), as an AES-256-GCM envelope bound to its table, column and user id. `key_id` counts
-- the user's storage keys, so a client can tell which key sealed a stored value.
CREATE TABLE storage_keys (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    key_id      INTEGER NOT NULL,
    envelope    BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);
