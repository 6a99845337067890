-- users: global identities. Not a tenant table (no tenant_id); RLS enabled,
-- not forced: app.enter (SECURITY DEFINER, owned by the schema owner) finds
-- the user by email past it. The runtime role sees its own row and, when
-- its role in the tenant in context is owner or partner, the rows of that
-- tenant's members (both from the sealed context). A Client Viewer sees
-- its own row only: it reads members' names through app.member_name(user),
-- never their emails (issue 11: a Client Viewer is the agency's client).
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
SELECT app.reset_policies('users');

CREATE POLICY users_visible ON users FOR SELECT
    USING (
        id = (SELECT app.current_user_id())
        OR ((SELECT app.current_member_role()) IN ('owner', 'partner')
            AND EXISTS (SELECT 1 FROM memberships m
                        WHERE m.user_id = users.id AND m.tenant_id = (SELECT app.current_tenant_id())))
    );
