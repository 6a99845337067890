-- The current user and its memberships, as the runtime role sees them under
-- RLS after app.enter.

-- name: UserCurrent :one
SELECT * FROM users WHERE id = app.current_user_id();

-- name: MembershipListMine :many
SELECT m.tenant_id, t.slug AS tenant_slug, t.name AS tenant_name, t.status AS tenant_status, m.role
FROM memberships m
JOIN tenants t ON t.id = m.tenant_id
WHERE m.user_id = app.current_user_id()
ORDER BY t.slug;
