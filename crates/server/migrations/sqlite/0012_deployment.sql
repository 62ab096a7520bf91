-- miniguard-server schema, version 12: this deployment's identity, made once by the first
-- migration and read by every instance on the database. It names the deployment's state in the
-- shared store (Redis keys `mg:<id>:...`), so instances of one database share nonces, limits and
-- invalidations, and deployments (or test runs) sharing one Redis never mix.
CREATE TABLE deployment (
    one  INTEGER PRIMARY KEY DEFAULT 1 CHECK (one = 1),
    id   TEXT    NOT NULL
);
INSERT INTO deployment (one, id) VALUES (1, lower(hex(randomblob(16))));
