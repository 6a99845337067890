-- Admin writes need an audit row in the same transaction (issue 10, item 6).
-- Every table in public but the audit log and the migration bookkeeping
-- gets a deferred constraint trigger: a row written by an admin login
-- (app.audited_writer(): a member of pgtenant_admin, not a superuser)
-- queues app.require_audit_row(), which at COMMIT refuses the whole
-- transaction unless audit_log has a row of this transaction (its xact
-- column is stamped by the database, never by the caller). `UPDATE users SET
-- is_owner = true` typed into a psql session of the admin role fails at
-- COMMIT; txscope.Admin, which inserts its audit row before COMMIT, passes.
--
-- Re-applied with every policy file, so a new table gets the trigger too
-- (rls-check's rule admin_write_audited reports one that does not).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT c.oid::regclass AS tbl FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
               AND c.relname NOT IN ('audit_log', 'schema_migrations', 'pgtenant_policy_state')
               AND c.relowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user) LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS admin_write_audited ON %s', t.tbl);
        EXECUTE format('CREATE CONSTRAINT TRIGGER admin_write_audited AFTER INSERT OR UPDATE OR DELETE ON %s
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (app.audited_writer())
            EXECUTE FUNCTION app.require_audit_row()', t.tbl);
    END LOOP;
END
$$;
