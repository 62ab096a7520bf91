-- miniguard-server schema, version 12 (PostgreSQL): this deployment's identity, made once by the
-- first migration and read by every instance on the database. It names the deployment's state
-- in the shared store (Redis keys `mg:<id>:...`), so instances of one database share nonces,
-- limits and invalidations, and deployments (or test runs) sharing one Redis never mix.
CREATE TABLE deployment (
    one  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    id   TEXT    NOT NULL
);
INSERT INTO deployment (one, id) VALUES (TRUE, replace(gen_random_uuid()::text, '-', ''));
