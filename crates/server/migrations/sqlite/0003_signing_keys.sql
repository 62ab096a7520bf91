-- miniguard-server schema, version 3: each access token carries its own request-signing key, as
-- an AES-256-GCM envelope bound to the token's hash (NULL on refresh rows).
ALTER TABLE sessions ADD COLUMN signing_key BLOB;
