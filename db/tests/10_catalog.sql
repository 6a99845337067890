-- Catalog tests: which tables are tenant tables, that each has row-level
-- security enabled and forced, and exactly the policies the policy files
-- define (name, PERMISSIVE/RESTRICTIVE, command). Run by pg_prove as the
-- runtime role (db/tests/pgtap_test.go); the catalogs are readable by it.
-- A new tenant table must be added here and get its own visibility file.
BEGIN;
SELECT plan(31);

-- The connection is the one the API uses: subject to RLS.
SELECT ok(NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user),
          'tests run as a role subject to RLS (not superuser, not BYPASSRLS)');
SELECT ok(pg_has_role('pgtenant_app', 'USAGE'), 'tests run as a member of pgtenant_app');

SELECT set_eq(
    $$SELECT c.relname::text FROM pg_class c
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')$$,
    ARRAY['memberships', 'projects', 'tasks', 'task_comments'],
    'the tenant tables (with a tenant_id column) are memberships, projects, tasks and task_comments');

-- memberships
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'public.memberships'::regclass), 'memberships: row-level security enabled');
SELECT ok((SELECT relforcerowsecurity FROM pg_class WHERE oid = 'public.memberships'::regclass), 'memberships: row-level security forced');
SELECT set_eq(
    $$SELECT policyname::text, permissive, cmd FROM pg_policies WHERE schemaname = 'public' AND tablename = 'memberships'$$,
    $$VALUES ('memberships_read', 'PERMISSIVE', 'SELECT'),
             ('memberships_resolve', 'PERMISSIVE', 'SELECT'),
             ('memberships_insert', 'PERMISSIVE', 'INSERT'),
             ('memberships_update', 'PERMISSIVE', 'UPDATE'),
             ('memberships_delete', 'PERMISSIVE', 'DELETE'),
             ('memberships_isolation_insert', 'RESTRICTIVE', 'INSERT'),
             ('memberships_isolation_update', 'RESTRICTIVE', 'UPDATE'),
             ('memberships_isolation_delete', 'RESTRICTIVE', 'DELETE')$$,
    'memberships: exactly the expected policies');
SELECT is(
    (SELECT count(*) FROM pg_policies WHERE schemaname = 'public' AND tablename = 'memberships'
        AND permissive = 'PERMISSIVE' AND cmd IN ('SELECT', 'ALL') AND roles @> '{public}'),
    1::bigint, 'memberships: memberships_read is the only permissive SELECT policy for PUBLIC');
SELECT ok(
    (SELECT NOT pg_has_role(current_user, r, 'MEMBER') FROM pg_policies, unnest(roles) r
     WHERE schemaname = 'public' AND tablename = 'memberships' AND policyname = 'memberships_resolve'),
    'memberships: memberships_resolve (app.enter''s lookup) applies to the schema owner only, not to this role');

-- projects
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'public.projects'::regclass), 'projects: row-level security enabled');
SELECT ok((SELECT relforcerowsecurity FROM pg_class WHERE oid = 'public.projects'::regclass), 'projects: row-level security forced');
SELECT set_eq(
    $$SELECT policyname::text, permissive, cmd FROM pg_policies WHERE schemaname = 'public' AND tablename = 'projects'$$,
    $$VALUES ('projects_tenant', 'PERMISSIVE', 'ALL'),
             ('projects_isolation', 'RESTRICTIVE', 'ALL'),
             ('projects_writers_insert', 'RESTRICTIVE', 'INSERT'),
             ('projects_writers_update', 'RESTRICTIVE', 'UPDATE'),
             ('projects_writers_delete', 'RESTRICTIVE', 'DELETE')$$,
    'projects: exactly the expected policies');
SELECT ok(
    (SELECT qual = '(tenant_id = ( SELECT app.current_tenant_id() AS current_tenant_id))' AND with_check = qual
     FROM pg_policies WHERE schemaname = 'public' AND tablename = 'projects' AND policyname = 'projects_isolation'),
    'projects: projects_isolation compares tenant_id with the context (USING and WITH CHECK)');

-- tasks
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'public.tasks'::regclass), 'tasks: row-level security enabled');
SELECT ok((SELECT relforcerowsecurity FROM pg_class WHERE oid = 'public.tasks'::regclass), 'tasks: row-level security forced');
SELECT set_eq(
    $$SELECT policyname::text, permissive, cmd FROM pg_policies WHERE schemaname = 'public' AND tablename = 'tasks'$$,
    $$VALUES ('tasks_tenant', 'PERMISSIVE', 'ALL'),
             ('tasks_isolation', 'RESTRICTIVE', 'ALL'),
             ('tasks_writers_insert', 'RESTRICTIVE', 'INSERT'),
             ('tasks_writers_update', 'RESTRICTIVE', 'UPDATE'),
             ('tasks_writers_delete', 'RESTRICTIVE', 'DELETE')$$,
    'tasks: exactly the expected policies');
SELECT ok(
    (SELECT qual = '(tenant_id = ( SELECT app.current_tenant_id() AS current_tenant_id))' AND with_check = qual
     FROM pg_policies WHERE schemaname = 'public' AND tablename = 'tasks' AND policyname = 'tasks_isolation'),
    'tasks: tasks_isolation compares tenant_id with the context (USING and WITH CHECK)');

-- task_comments (no UPDATE policy of its own: the runtime role may not
-- update comments at all)
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'public.task_comments'::regclass), 'task_comments: row-level security enabled');
SELECT ok((SELECT relforcerowsecurity FROM pg_class WHERE oid = 'public.task_comments'::regclass), 'task_comments: row-level security forced');
SELECT set_eq(
    $$SELECT policyname::text, permissive, cmd FROM pg_policies WHERE schemaname = 'public' AND tablename = 'task_comments'$$,
    $$VALUES ('task_comments_tenant', 'PERMISSIVE', 'ALL'),
             ('task_comments_isolation', 'RESTRICTIVE', 'ALL'),
             ('task_comments_writers_insert', 'RESTRICTIVE', 'INSERT'),
             ('task_comments_writers_delete', 'RESTRICTIVE', 'DELETE')$$,
    'task_comments: exactly the expected policies');
SELECT ok(
    (SELECT qual = '(tenant_id = ( SELECT app.current_tenant_id() AS current_tenant_id))' AND with_check = qual
     FROM pg_policies WHERE schemaname = 'public' AND tablename = 'task_comments' AND policyname = 'task_comments_isolation'),
    'task_comments: task_comments_isolation compares tenant_id with the context (USING and WITH CHECK)');

-- audit_log: forced, no policy at all (only BYPASSRLS admin roles reach it).
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'public.audit_log'::regclass), 'audit_log: row-level security enabled');
SELECT ok((SELECT relforcerowsecurity FROM pg_class WHERE oid = 'public.audit_log'::regclass), 'audit_log: row-level security forced');
SELECT policies_are('public', 'audit_log', ARRAY[]::name[], 'audit_log: no policies');

-- Global registries: enabled, deliberately not forced (SECURITY DEFINER
-- helpers owned by the schema owner read them; see db/policies/10_tenants.sql).
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'public.tenants'::regclass), 'tenants: row-level security enabled');
SELECT ok(NOT (SELECT relforcerowsecurity FROM pg_class WHERE oid = 'public.tenants'::regclass), 'tenants: not forced (read by SECURITY DEFINER helpers)');
SELECT set_eq(
    $$SELECT policyname::text, permissive, cmd FROM pg_policies WHERE schemaname = 'public' AND tablename = 'tenants'$$,
    $$VALUES ('tenants_visible', 'PERMISSIVE', 'SELECT')$$,
    'tenants: exactly the expected policies');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'public.users'::regclass), 'users: row-level security enabled');
SELECT ok(NOT (SELECT relforcerowsecurity FROM pg_class WHERE oid = 'public.users'::regclass), 'users: not forced (read by SECURITY DEFINER helpers)');
SELECT set_eq(
    $$SELECT policyname::text, permissive, cmd FROM pg_policies WHERE schemaname = 'public' AND tablename = 'users'$$,
    $$VALUES ('users_visible', 'PERMISSIVE', 'SELECT')$$,
    'users: exactly the expected policies');

-- What the runtime role may do at all.
SELECT is_empty(
    $$SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
      AND (has_table_privilege(c.oid, 'TRUNCATE') OR has_table_privilege(c.oid, 'REFERENCES')
           OR has_table_privilege(c.oid, 'TRIGGER') OR pg_has_role(c.relowner, 'MEMBER'))$$,
    'runtime role: owns no table and has no TRUNCATE, REFERENCES or TRIGGER');
SELECT ok(NOT has_table_privilege('public.audit_log', 'SELECT') AND NOT has_table_privilege('public.audit_log', 'INSERT'),
          'runtime role: no access to audit_log');

SELECT * FROM finish();
ROLLBACK;
