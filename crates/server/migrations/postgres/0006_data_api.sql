-- miniguard-server schema, version 6 (PostgreSQL): the stored field list of each collection
-- of the data API (its tables are created from the configuration at start).
CREATE TABLE collection_fields (
    collection  TEXT    NOT NULL,
    field       TEXT    NOT NULL,
    spec        TEXT    NOT NULL,
    PRIMARY KEY (collection, field)
);
