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
-- if_match (NULL: unconditional) holds the versions an If-Match allows; the
-- comparison is part of the UPDATE, so of two concurrent writers with the
-- same version only the first matches (the trigger of 0010 moves
-- updated_at).
UPDATE projects
SET name        = coalesce(sqlc.narg('name'), name),
    description = coalesce(sqlc.narg('description'), description)
WHERE id = sqlc.arg('id')
  AND (sqlc.narg('if_match')::timestamptz[] IS NULL OR updated_at = ANY (sqlc.narg('if_match')::timestamptz[]))
RETURNING *;

-- name: ProjectDelete :execrows
DELETE FROM projects
WHERE id = sqlc.arg('id')
  AND (sqlc.narg('if_match')::timestamptz[] IS NULL OR updated_at = ANY (sqlc.narg('if_match')::timestamptz[]));
