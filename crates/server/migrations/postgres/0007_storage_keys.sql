-- miniguard-server schema, version 7 (PostgreSQL): each user's client storage key, encrypted.
CREATE TABLE storage_keys (
    user_id     BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    key_id      BIGINT  NOT NULL,
    envelope    BYTEA   NOT NULL,
    created_at  BIGINT  NOT NULL
);
