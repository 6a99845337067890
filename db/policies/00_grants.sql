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

GRANT USAGE ON SCHEMA app TO pgtenant_app, pgtenant_admin;
GRANT EXECUTE ON FUNCTION
    app.current_tenant_id(), app.current_user_id(), app.current_user_email(),
    app.current_member_role(), app.current_is_owner(), app.enter(text, text, boolean)
    TO pgtenant_app, pgtenant_admin;
GRANT EXECUTE ON FUNCTION app.member_add(text, text) TO pgtenant_app;

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
