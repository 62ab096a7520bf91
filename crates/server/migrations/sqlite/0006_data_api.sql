-- miniguard-server schema, version 6: the data API.

-- Roles for authorization rules (`role:X`) are the user_roles rows of version 5.

-- The stored type of every collection field, so startup notices a removed or retyped field
-- instead of misreading its column. The collection tables themselves (c_<name>) are created
-- from miniguard.toml at startup.
CREATE TABLE collection_fields (
    collection  TEXT    NOT NULL,
    field       TEXT    NOT NULL,
    spec        TEXT    NOT NULL,
    PRIMARY KEY (collection, field)
);
