-- miniguard-server schema, version 11: the highest audit id ever issued, in a row of its own
-- (before, SQLite's sqlite_sequence; PostgreSQL has none). An append raises it and takes the
-- next id; rows cut off the tail leave a gap below it that `audit-log verify` reports. It
-- never goes down.
CREATE TABLE audit_head (
    one     INTEGER PRIMARY KEY DEFAULT 1 CHECK (one = 1),
    issued  INTEGER NOT NULL
);
INSERT INTO audit_head (one, issued)
    SELECT 1, MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'), 0),
                  COALESCE((SELECT MAX(id) FROM audit_log), 0));
CREATE TRIGGER audit_head_no_rewind BEFORE UPDATE ON audit_head
WHEN NEW.issued < OLD.issued
BEGIN
    SELECT RAISE(ABORT, 'audit_head only moves forward');
END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'audit_head only moves forward');
END;
