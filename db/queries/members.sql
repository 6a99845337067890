-- Members of the tenant in context. memberships is the one tenant table
-- whose SELECT policy also shows the caller's own memberships in other
-- tenants (for GET /v1/me), so queries here name the context's tenant. The
-- pages filter with app.claimed_tenant_id(): the policies check the sealed
-- context, this only narrows to its tenant, and keeps an index-ordered plan.
--
-- Names come from app.member_name(user) (every member may read them), emails
-- from users, whose policy shows a Client Viewer no one's row but its own:
-- the email is NULL for a Client Viewer, whatever the handler does.

-- name: MemberListFirst :many
SELECT m.user_id, u.email, coalesce(app.member_name(m.user_id), '')::text AS display_name, m.role, m.created_at, m.updated_at
FROM memberships m
LEFT JOIN users u ON u.id = m.user_id
WHERE m.tenant_id = app.claimed_tenant_id()
ORDER BY m.created_at, m.user_id
LIMIT sqlc.arg('lim');

-- name: MemberListAfter :many
SELECT m.user_id, u.email, coalesce(app.member_name(m.user_id), '')::text AS display_name, m.role, m.created_at, m.updated_at
FROM memberships m
LEFT JOIN users u ON u.id = m.user_id
WHERE m.tenant_id = app.claimed_tenant_id()
  AND (m.created_at, m.user_id) > (sqlc.arg('after_created_at')::timestamptz, sqlc.arg('after_user_id')::uuid)
ORDER BY m.created_at, m.user_id
LIMIT sqlc.arg('lim');

-- name: MemberAdd :one
SELECT * FROM app.member_add(sqlc.arg('email')::text, sqlc.arg('role')::text);

-- name: MemberGet :one
SELECT m.user_id, u.email, coalesce(app.member_name(m.user_id), '')::text AS display_name, m.role, m.created_at, m.updated_at
FROM memberships m
LEFT JOIN users u ON u.id = m.user_id
WHERE m.tenant_id = app.current_tenant_id() AND m.user_id = sqlc.arg('user_id');

-- name: MemberSetRole :one
-- Answers with the shape of the member list.
UPDATE memberships m SET role = sqlc.arg('role')
FROM users u
WHERE u.id = m.user_id
  AND m.tenant_id = app.current_tenant_id() AND m.user_id = sqlc.arg('user_id')
  AND (sqlc.narg('if_match')::timestamptz[] IS NULL OR m.updated_at = ANY (sqlc.narg('if_match')::timestamptz[]))
RETURNING m.user_id, u.email, u.display_name, m.role, m.created_at, m.updated_at;

-- name: MemberRemove :execrows
DELETE FROM memberships
WHERE tenant_id = app.current_tenant_id() AND user_id = sqlc.arg('user_id')
  AND (sqlc.narg('if_match')::timestamptz[] IS NULL OR updated_at = ANY (sqlc.narg('if_match')::timestamptz[]));
