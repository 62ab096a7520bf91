-- miniguard-server schema, version 13 (PostgreSQL): a counter raised each time every session is
-- ended at once (`miniguard accounts end-sessions`). Every instance reads it once a second and,
-- when it moved, drops its cache of verified sessions, so the end is honoured within a second by
-- instances the command could not tell otherwise (no Redis, or a message lost).
CREATE TABLE sessions_ended (
    one         BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    generation  BIGINT  NOT NULL,
    at          BIGINT  NOT NULL
);
INSERT INTO sessions_ended (one, generation, at) VALUES (TRUE, 0, 0);
