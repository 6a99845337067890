-- audit_log: RLS enabled and forced with no policy at all, so no role that
-- is subject to RLS (the runtime role, the table owner) reads or writes a
-- row. Only BYPASSRLS admin roles reach it, and their grants allow INSERT and
-- SELECT only; the append-only trigger (schema) refuses UPDATE, DELETE and
-- TRUNCATE even for a role granted them by mistake.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
SELECT app.reset_policies('audit_log');
