-- task_comments: a tenant table. Restrictive isolation on every command, so
-- a permissive policy added later cannot widen access across tenants;
-- writes only for Owners and Partners (Client Viewers read), and a comment
-- is written in its author's own name. Comments are not edited: the
-- runtime role has no UPDATE on the table (00_grants.sql).
ALTER TABLE task_comments ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_comments FORCE ROW LEVEL SECURITY;
SELECT app.reset_policies('task_comments');

-- The permissive policy names the tenant unchecked (app.claimed_tenant_id():
-- one seal check less per statement); the restrictive one below checks the
-- sealed context, and a row must pass both.
CREATE POLICY task_comments_tenant ON task_comments
    USING (tenant_id = (SELECT app.claimed_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.claimed_tenant_id()));

CREATE POLICY task_comments_isolation ON task_comments AS RESTRICTIVE
    USING (tenant_id = (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));

-- author_id defaults from the context; a client that names another author
-- (to put words in a co-member's mouth) is refused.
CREATE POLICY task_comments_writers_insert ON task_comments AS RESTRICTIVE FOR INSERT
    WITH CHECK ((SELECT app.current_member_role()) IN ('owner', 'partner')
                AND author_id = (SELECT app.current_user_id()));
CREATE POLICY task_comments_writers_delete ON task_comments AS RESTRICTIVE FOR DELETE
    USING ((SELECT app.current_member_role()) IN ('owner', 'partner'));
