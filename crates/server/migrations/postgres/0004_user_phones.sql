-- miniguard-server schema, version 4 (PostgreSQL): bound phone numbers, encrypted.
CREATE TABLE user_phones (
    user_id     BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    envelope    BYTEA   NOT NULL,
    source      TEXT    NOT NULL CHECK (source IN ('code', 'encrypted_data')),
    bound_at    BIGINT  NOT NULL
);
