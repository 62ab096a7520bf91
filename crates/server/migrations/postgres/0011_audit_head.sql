-- miniguard-server schema, version 11 (PostgreSQL): the highest audit id ever issued, in a
-- row of its own. An append raises it and takes the next id (the row stays locked until the
-- append commits, so appends of several instances are serialized); rows cut off the tail leave
-- a gap below it that `audit-log verify` reports. It never goes down.
CREATE TABLE audit_head (
    one     BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    issued  BIGINT  NOT NULL
);
INSERT INTO audit_head (one, issued) SELECT TRUE, COALESCE(MAX(id), 0) FROM audit_log;
CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.issued < OLD.issued THEN
        RAISE EXCEPTION 'audit_head only moves forward';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_head_no_rewind BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
