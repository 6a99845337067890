-- Task comments: members discuss a task. A tenant table built like tasks
-- (see docs/extending.md, which follows this migration step by step); its
-- policies and grants are in db/policies/60_task_comments.sql and
-- 00_grants.sql.

CREATE TABLE task_comments (
    tenant_id  uuid        NOT NULL DEFAULT app.current_tenant_id(),
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    task_id    uuid        NOT NULL,
    -- The writer, from the context; the insert policy refuses any other.
    -- NULL once the user row is gone.
    author_id  uuid                 DEFAULT app.current_user_id(),
    body       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT task_comments_pkey PRIMARY KEY (tenant_id, id),
    -- Composite key: a comment can only point at a task of its own tenant
    -- (FK checks ignore RLS, so a single-column key would let a client
    -- attach a comment to, and probe for, a guessed task id of another
    -- tenant).
    CONSTRAINT task_comments_task_fkey FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id) ON DELETE CASCADE,
    -- users is a global (reference) table: the key cannot carry tenant_id.
    CONSTRAINT task_comments_author_fkey FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT task_comments_body_check CHECK (length(btrim(body)) BETWEEN 1 AND 4000)
);
-- A task's comments in order (keyset pagination), within the tenant.
CREATE INDEX task_comments_page_idx ON task_comments (tenant_id, task_id, created_at, id);
