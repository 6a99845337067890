-- Comments on a task. No query names a tenant: RLS scopes every statement,
-- and tenant_id and author_id default from the context on insert. Every
-- query also names the project, so a task id only works under the project
-- the URL says it belongs to.

-- name: CommentListFirst :many
SELECT c.id, c.task_id, c.author_id, coalesce(u.email, '')::text AS author_email, c.body, c.created_at
FROM task_comments c
JOIN tasks t ON t.tenant_id = c.tenant_id AND t.id = c.task_id
LEFT JOIN users u ON u.id = c.author_id
WHERE t.project_id = sqlc.arg('project_id') AND c.task_id = sqlc.arg('task_id')
ORDER BY c.created_at, c.id
LIMIT sqlc.arg('lim');

-- name: CommentListAfter :many
SELECT c.id, c.task_id, c.author_id, coalesce(u.email, '')::text AS author_email, c.body, c.created_at
FROM task_comments c
JOIN tasks t ON t.tenant_id = c.tenant_id AND t.id = c.task_id
LEFT JOIN users u ON u.id = c.author_id
WHERE t.project_id = sqlc.arg('project_id') AND c.task_id = sqlc.arg('task_id')
  AND (c.created_at, c.id) > (sqlc.arg('after_created_at')::timestamptz, sqlc.arg('after_id')::uuid)
ORDER BY c.created_at, c.id
LIMIT sqlc.arg('lim');

-- name: CommentCreate :one
-- No row when the task is not in the project (or not visible): not found.
INSERT INTO task_comments (task_id, body)
SELECT t.id, sqlc.arg('body')::text
FROM tasks t
WHERE t.project_id = sqlc.arg('project_id') AND t.id = sqlc.arg('task_id')
RETURNING id, task_id, author_id, body, created_at;

-- name: CommentGet :one
SELECT c.id, c.task_id, c.author_id, coalesce(u.email, '')::text AS author_email, c.body, c.created_at
FROM task_comments c
JOIN tasks t ON t.tenant_id = c.tenant_id AND t.id = c.task_id
LEFT JOIN users u ON u.id = c.author_id
WHERE t.project_id = sqlc.arg('project_id') AND c.task_id = sqlc.arg('task_id') AND c.id = sqlc.arg('id');

-- name: CommentDelete :execrows
-- Comments are never edited, so their version is created_at.
DELETE FROM task_comments c
USING tasks t
WHERE t.tenant_id = c.tenant_id AND t.id = c.task_id
  AND t.project_id = sqlc.arg('project_id') AND c.task_id = sqlc.arg('task_id') AND c.id = sqlc.arg('id')
  AND (sqlc.narg('if_match')::timestamptz[] IS NULL OR c.created_at = ANY (sqlc.narg('if_match')::timestamptz[]));
