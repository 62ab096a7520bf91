-- miniguard-server schema, version 4: phone numbers bound through the platform (WeChat).
-- The number (country code and digits, as JSON) is an AES-256-GCM envelope from miniguard-crypto
-- bound to this table, column and user id; it is never stored or logged in clear. No lookup hash
-- is kept: nothing searches users by phone today (a keyed HMAC column can follow when it does).
CREATE TABLE user_phones (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    envelope    BLOB    NOT NULL,
    source      TEXT    NOT NULL CHECK (source IN ('code', 'encrypted_data')),
    bound_at    INTEGER NOT NULL
);
