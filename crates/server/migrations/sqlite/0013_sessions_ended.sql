-- miniguard-server schema, version 13: a counter raised each time every session is ended at once
-- (`miniguard accounts end-sessions`). Every instance reads it once a second and, when it moved,
-- drops its cache of verified sessions, so the end is honoured within a second by instances the
-- command could not tell otherwise (no Redis, or a message lost).
CREATE TABLE sessions_ended (
    one         INTEGER PRIMARY KEY DEFAULT 1 CHECK (one = 1),
    generation  INTEGER NOT NULL,
    at          INTEGER NOT NULL
);
INSERT INTO sessions_ended (one, generation, at) VALUES (1, 0, 0);
