-- Grants. The runtime role (pgtenant_app) gets DML on tenant tables and
-- SELECT on the registries it resolves identity from; never TRUNCATE,
-- REFERENCES, TRIGGER or CREATE, and nothing on the audit log. The admin role
-- (pgtenant_admin) gets what the audited operator scope needs.
-- Re-applied whole whenever this file changes: privileges are revoked first so
-- a grant removed here disappears from the database too.

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, pgtenant_app, pgtenant_admin;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, pgtenant_app, pgtenant_admin;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA app FROM PUBLIC, pgtenant_app, pgtenant_admin;
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

-- Admin role (BYPASSRLS login roles are members of it).
GRANT SELECT, INSERT, UPDATE ON tenants, users TO pgtenant_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships TO pgtenant_admin;
GRANT SELECT, INSERT ON projects, tasks TO pgtenant_admin;
GRANT SELECT, INSERT ON audit_log TO pgtenant_admin;

-- Both read the migration bookkeeping so the server can refuse to start on a
-- schema or policy set older than its own.
GRANT SELECT ON schema_migrations, pgtenant_policy_state TO pgtenant_app, pgtenant_admin;
