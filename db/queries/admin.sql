-- Queries for the audited admin scope (BYPASSRLS role). They name tenants
-- explicitly because no RLS context scopes them.

-- name: AuditInsert :one
INSERT INTO audit_log (actor_user_id, actor_email, actor_role, reason, action, tenant_ids, request_id, client_addr, detail)
VALUES (sqlc.narg('actor_user_id'), sqlc.arg('actor_email'), sqlc.arg('actor_role'), sqlc.arg('reason'),
        sqlc.arg('action'), sqlc.arg('tenant_ids')::uuid[], sqlc.arg('request_id'), sqlc.arg('client_addr'),
        sqlc.arg('detail'))
RETURNING id, at;

-- The ensure queries write only what is missing or different, so a seed
-- that changes nothing writes nothing (and leaves no audit row).

-- name: AdminTenantCreateIfMissing :execrows
INSERT INTO tenants (slug, name)
VALUES (sqlc.arg('slug'), sqlc.arg('name'))
ON CONFLICT (slug) DO NOTHING;

-- name: AdminTenantBySlug :one
SELECT * FROM tenants WHERE slug = sqlc.arg('slug');

-- name: AdminUserCreateIfMissing :execrows
INSERT INTO users (email)
VALUES (sqlc.arg('email'))
ON CONFLICT (email) DO NOTHING;

-- name: AdminUserByEmail :one
SELECT * FROM users WHERE email = sqlc.arg('email');

-- name: AdminMembershipEnsure :execrows
-- 1 when the membership was added or its role changed, 0 when it was
-- already there with that role.
INSERT INTO memberships (tenant_id, user_id, role)
VALUES (sqlc.arg('tenant_id'), sqlc.arg('user_id'), sqlc.arg('role'))
ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = EXCLUDED.role
WHERE memberships.role IS DISTINCT FROM EXCLUDED.role;

-- name: AdminProjectEnsure :execrows
INSERT INTO projects (tenant_id, name, description)
VALUES (sqlc.arg('tenant_id'), sqlc.arg('name'), sqlc.arg('description'))
ON CONFLICT (tenant_id, name) DO NOTHING;

-- name: AdminProjectByName :one
SELECT * FROM projects WHERE tenant_id = sqlc.arg('tenant_id') AND name = sqlc.arg('name');

-- name: AdminTaskCreate :exec
INSERT INTO tasks (tenant_id, project_id, title, done)
VALUES (sqlc.arg('tenant_id'), sqlc.arg('project_id'), sqlc.arg('title'), sqlc.arg('done'));

-- name: AdminOwnerGrant :one
INSERT INTO users (email, is_owner)
VALUES (sqlc.arg('email'), true)
ON CONFLICT (email) DO UPDATE SET is_owner = true
RETURNING *;

-- name: AdminOwnerRevoke :execrows
UPDATE users SET is_owner = false WHERE email = sqlc.arg('email') AND is_owner;

-- name: AdminOwnerList :many
SELECT * FROM users WHERE is_owner ORDER BY email;

-- name: AdminTenantList :many
-- One page of tenants by slug, with their sizes. Counts use the tenant_id
-- leading indexes of each table.
SELECT t.id, t.slug, t.name, t.status, t.created_at, t.updated_at,
       (SELECT count(*) FROM memberships m WHERE m.tenant_id = t.id) AS members,
       (SELECT count(*) FROM projects p WHERE p.tenant_id = t.id) AS projects,
       (SELECT count(*) FROM tasks k WHERE k.tenant_id = t.id) AS tasks
FROM tenants t
WHERE t.slug > sqlc.arg('after_slug')::text
ORDER BY t.slug
LIMIT sqlc.arg('lim');

-- name: AdminTenantGet :one
SELECT t.id, t.slug, t.name, t.status, t.created_at, t.updated_at,
       (SELECT count(*) FROM memberships m WHERE m.tenant_id = t.id) AS members,
       (SELECT count(*) FROM projects p WHERE p.tenant_id = t.id) AS projects,
       (SELECT count(*) FROM tasks k WHERE k.tenant_id = t.id) AS tasks
FROM tenants t
WHERE t.id = sqlc.arg('id');

-- name: AdminTenantCreate :one
INSERT INTO tenants (slug, name)
VALUES (sqlc.arg('slug'), sqlc.arg('name'))
RETURNING *;

-- name: AdminTenantSetStatus :one
-- Answers with the sizes, like the list.
UPDATE tenants t SET status = sqlc.arg('status')
WHERE t.id = sqlc.arg('id')
RETURNING t.id, t.slug, t.name, t.status, t.created_at, t.updated_at,
       (SELECT count(*) FROM memberships m WHERE m.tenant_id = t.id) AS members,
       (SELECT count(*) FROM projects p WHERE p.tenant_id = t.id) AS projects,
       (SELECT count(*) FROM tasks k WHERE k.tenant_id = t.id) AS tasks;

-- name: AdminAuditList :many
-- Newest first; every filter optional. Not a hot path: the admin role reads
-- it, with the at/id and tenant_ids indexes.
SELECT * FROM audit_log
WHERE (sqlc.narg('tenant_id')::uuid IS NULL OR tenant_ids @> ARRAY[sqlc.narg('tenant_id')::uuid])
  AND (sqlc.narg('actor')::text IS NULL OR actor_email = sqlc.narg('actor')::text)
  AND (sqlc.narg('since')::timestamptz IS NULL OR at >= sqlc.narg('since')::timestamptz)
  AND (sqlc.narg('until')::timestamptz IS NULL OR at < sqlc.narg('until')::timestamptz)
  AND (sqlc.narg('before_id')::bigint IS NULL OR id < sqlc.narg('before_id')::bigint)
ORDER BY id DESC
LIMIT sqlc.arg('lim');
