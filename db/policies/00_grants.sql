-- Grants. The runtime role (pgtenant_app) gets DML on tenant tables and
-- SELECT on the registries it resolves identity from; never TRUNCATE,
-- REFERENCES, TRIGGER or CREATE, and nothing on the audit log. The admin role
-- (pgtenant_admin) gets what the audited operator scope needs.
-- Re-applied whole whenever this file changes: privileges are revoked first so
-- a grant removed here disappears from the database too.

-- Every grant on a relation or function this role owns in the project's
-- schemas, and on the schemas app and app_private, is revoked first,
-- whoever holds it (PUBLIC, the group roles, a login role granted something
-- directly, a SECURITY DEFINER function someone added to public and
-- granted): the grants below are then the only ones. On schema public,
-- CREATE is revoked from everyone but its owner. Only objects this role
-- owns, and none of an extension's: something another role put there (a
-- view a superuser made by hand) must not block the deploy; rls-check
-- reports what such objects grant.
DO $$
DECLARE
    o record;
BEGIN
    FOR o IN
        WITH owned AS (
            SELECT format('%s %s', CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid::regclass) AS obj,
                   c.relacl AS acl, c.relowner AS owner, 'pg_class'::regclass AS cat, c.oid
            FROM pg_catalog.pg_class c
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              AND c.relnamespace IN (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname IN ('public', 'app', 'app_private'))
            UNION ALL
            SELECT format('FUNCTION %s', p.oid::regprocedure), coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner)),
                   p.proowner, 'pg_proc'::regclass, p.oid
            FROM pg_catalog.pg_proc p
            WHERE p.pronamespace IN (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname IN ('public', 'app', 'app_private'))
            UNION ALL
            SELECT format('SCHEMA %I', n.nspname), coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner)),
                   n.nspowner, 'pg_namespace'::regclass, n.oid
            FROM pg_catalog.pg_namespace n
            WHERE n.nspname IN ('app', 'app_private')
        )
        SELECT DISTINCT owned.obj, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END AS grantee
        FROM owned CROSS JOIN LATERAL pg_catalog.aclexplode(owned.acl) a
        WHERE owned.owner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
          AND a.grantee <> owned.owner
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = owned.cat AND d.objid = owned.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM %s', o.obj, o.grantee);
    END LOOP;
END
$$;
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END AS grantee
             FROM pg_catalog.pg_namespace n CROSS JOIN LATERAL pg_catalog.aclexplode(coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) a
             WHERE n.nspname = 'public' AND a.privilege_type = 'CREATE' AND a.grantee <> n.nspowner LOOP
        EXECUTE format('REVOKE CREATE ON SCHEMA public FROM %s', g.grantee);
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
GRANT EXECUTE ON FUNCTION app.enter(text, text, boolean, text), app.member_add(text, text), app.member_name(uuid)
    TO pgtenant_app;
-- The text and email rules: check constraints run them as whoever writes.
GRANT EXECUTE ON FUNCTION app.fold_email(text), app.text_ok(text, boolean, boolean), app.valid_email(text)
    TO pgtenant_app, pgtenant_admin;
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
