-- Tasks of a project. The composite foreign key (tenant_id, project_id)
-- makes a task of another tenant's project impossible to create.

-- name: TaskListFirst :many
SELECT * FROM tasks
WHERE project_id = sqlc.arg('project_id')
ORDER BY created_at, id
LIMIT sqlc.arg('lim');

-- name: TaskListAfter :many
SELECT * FROM tasks
WHERE project_id = sqlc.arg('project_id')
  AND (created_at, id) > (sqlc.arg('after_created_at')::timestamptz, sqlc.arg('after_id')::uuid)
ORDER BY created_at, id
LIMIT sqlc.arg('lim');

-- name: TaskCreate :one
INSERT INTO tasks (project_id, title, done)
VALUES (sqlc.arg('project_id'), sqlc.arg('title'), sqlc.arg('done'))
RETURNING *;

-- name: TaskUpdate :one
UPDATE tasks
SET title      = coalesce(sqlc.narg('title'), title),
    done       = coalesce(sqlc.narg('done'), done)
WHERE project_id = sqlc.arg('project_id') AND id = sqlc.arg('id')
  AND (sqlc.narg('if_match')::timestamptz[] IS NULL OR updated_at = ANY (sqlc.narg('if_match')::timestamptz[]))
RETURNING *;

-- name: TaskDelete :execrows
DELETE FROM tasks
WHERE project_id = sqlc.arg('project_id') AND id = sqlc.arg('id')
  AND (sqlc.narg('if_match')::timestamptz[] IS NULL OR updated_at = ANY (sqlc.narg('if_match')::timestamptz[]));

-- name: TaskGet :one
SELECT * FROM tasks WHERE project_id = sqlc.arg('project_id') AND id = sqlc.arg('id');
