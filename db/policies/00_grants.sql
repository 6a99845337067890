-- Grants. The runtime role (pgtenant_app) gets DML on tenant tables and
-- SELECT on the registries it resolves identity from; never TRUNCATE,
-- REFERENCES, TRIGGER or CREATE, and nothing on the audit log. The admin role
-- (pgtenant_admin) gets what the audited operator scope needs.
-- Re-applied whole whenever this file changes: privileges are revoked first so
-- a grant removed here disappears from the database too.

-- Only objects this role owns: something another role put in public (a
-- view a superuser made by hand) must not block the deploy. rls-check
-- reports what such objects grant.
DO $$
DECLARE
    o record;
BEGIN
    FOR o IN SELECT c.oid::regclass AS name, c.relkind FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
               AND c.relowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user) LOOP
        EXECUTE format('REVOKE ALL ON %s %s FROM PUBLIC, pgtenant_app, pgtenant_admin',
                       CASE WHEN o.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, o.name);
    END LOOP;
    FOR o IN SELECT p.oid::regprocedure AS name FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'app'::regnamespace
               AND p.proowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user) LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, pgtenant_app, pgtenant_admin', o.name);
    END LOOP;
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC, pgtenant_app, pgtenant_admin;
REVOKE ALL ON SCHEMA app FROM PUBLIC;

REVOKE ALL ON SCHEMA app_private FROM PUBLIC, pgtenant_app, pgtenant_admin;

GRANT USAGE ON SCHEMA app TO pgtenant_app, pgtenant_admin;
-- The context readers (app.context() checks the seal; the helpers inline
-- to it) and app.audited_writer(), which the admin-audit triggers' WHEN
-- clause runs as whoever writes.
GRANT EXECUTE ON FUNCTION
    app.context(), app.current_tenant_id(), app.claimed_tenant_id(), app.current_user_id(),
    app.current_member_role(), app.current_is_owner(), app.audited_writer()
    TO pgtenant_app, pgtenant_admin;
GRANT EXECUTE ON FUNCTION app.enter(text, text, boolean, text), app.member_add(text, text) TO pgtenant_app;
-- The context keys: read by the server through its admin pool, rotated by
-- `server context-key rotate`. Never the runtime role.
GRANT EXECUTE ON FUNCTION app.context_keys(), app.context_key_rotate(interval) TO pgtenant_admin;

-- No TEMP for anyone but the database owner: a temporary table is searched
-- before public when pg_temp is not on search_path, so a TEMP table named
-- projects, planted on a pooled connection, would be read and written by
-- the next request on it (issue 10). Only the database owner (or a
-- superuser) may revoke what PUBLIC holds on a database; when the migrating
-- role is not the owner, `server serve` refuses to start and rls-check
-- reports it until someone who is runs this statement.
DO $$
BEGIN
    IF (SELECT d.datdba FROM pg_catalog.pg_database d WHERE d.datname = current_database())
            = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC, pgtenant_app, pgtenant_admin', current_database());
    ELSE
        RAISE WARNING 'pgtenant: % does not own database %, so it cannot revoke TEMPORARY from PUBLIC; as the owner run: REVOKE TEMPORARY ON DATABASE % FROM PUBLIC',
            current_user, current_database(), quote_ident(current_database());
    END IF;
END
$$;

-- Runtime role.
GRANT SELECT ON tenants, users TO pgtenant_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships, projects, tasks TO pgtenant_app;
GRANT SELECT, INSERT, DELETE ON task_comments TO pgtenant_app; -- comments are not edited

-- Admin role (BYPASSRLS login roles are members of it).
GRANT SELECT, INSERT, UPDATE ON tenants, users TO pgtenant_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships TO pgtenant_admin;
GRANT SELECT, INSERT ON projects, tasks TO pgtenant_admin;
GRANT SELECT, INSERT ON audit_log TO pgtenant_admin;

-- Both read the migration bookkeeping so the server can refuse to start on a
-- schema or policy set older than its own.
GRANT SELECT ON schema_migrations, pgtenant_policy_state TO pgtenant_app, pgtenant_admin;
