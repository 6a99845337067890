-- audit_log: RLS enabled and forced with no policy at all, so no role that
-- is subject to RLS (the runtime role, the table owner) reads or writes a
-- row. Only BYPASSRLS admin roles reach it, and their grants allow INSERT and
-- SELECT only; the append-only trigger (schema) refuses UPDATE, DELETE and
-- TRUNCATE even for a role granted them by mistake.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
SELECT app.reset_policies('audit_log');

-- The triggers that keep the log append-only and stamp each row (created
-- by db/schema 0001 and 0004): put back if dropped, re-enabled if
-- disabled, by every `migrate up` that finds the catalog drifted.
CREATE OR REPLACE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION app.audit_log_append_only();
CREATE OR REPLACE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION app.audit_log_append_only();
CREATE OR REPLACE TRIGGER audit_log_stamp
    BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION app.audit_log_stamp();
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete, ENABLE TRIGGER audit_log_no_truncate,
    ENABLE TRIGGER audit_log_stamp;
