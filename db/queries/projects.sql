-- Projects. No query names a tenant: RLS scopes every statement to the
-- tenant of the transaction, and tenant_id defaults from it on insert.

-- name: ProjectListFirst :many
SELECT * FROM projects
ORDER BY created_at, id
LIMIT sqlc.arg('lim');

-- name: ProjectListAfter :many
SELECT * FROM projects
WHERE (created_at, id) > (sqlc.arg('after_created_at')::timestamptz, sqlc.arg('after_id')::uuid)
ORDER BY created_at, id
LIMIT sqlc.arg('lim');

-- name: ProjectGet :one
SELECT * FROM projects WHERE id = sqlc.arg('id');

-- name: ProjectCreate :one
INSERT INTO projects (name, description)
VALUES (sqlc.arg('name'), sqlc.arg('description'))
RETURNING *;

-- name: ProjectUpdate :one
UPDATE projects
SET name        = coalesce(sqlc.narg('name'), name),
    description = coalesce(sqlc.narg('description'), description),
    updated_at  = now()
WHERE id = sqlc.arg('id')
RETURNING *;

-- name: ProjectDelete :execrows
DELETE FROM projects WHERE id = sqlc.arg('id');
