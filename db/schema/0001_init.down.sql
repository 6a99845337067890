-- Reverts 0001. The group roles pgtenant_app and pgtenant_admin are left in
-- place: roles are cluster-wide, other databases of the cluster may use them,
-- and login roles the operator created are members of them.
DROP TABLE IF EXISTS audit_log, tasks, projects, memberships, users, tenants;
DROP SCHEMA IF EXISTS app CASCADE;
