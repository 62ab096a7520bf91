-- miniguard-server schema, version 6: the data API.

-- Roles for authorization rules (`role:X`); granted by operators, read once per request.
CREATE TABLE user_roles (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL,
    granted_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- The stored type of every collection field, so startup notices a removed or retyped field
-- instead of misreading its column. The collection tables themselves (c_<name>) are created
-- from miniguard.toml at startup.
CREATE TABLE collection_fields (
    collection  TEXT    NOT NULL,
    field       TEXT    NOT NULL,
    spec        TEXT    NOT NULL,
    PRIMARY KEY (collection, field)
);
