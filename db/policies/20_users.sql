-- users: global identities. Not a tenant table (no tenant_id); RLS enabled,
-- not forced: app.enter (SECURITY DEFINER, owned by the schema owner) finds
-- the user by email past it. The runtime role sees its own row and the rows
-- of the members of the tenant in context (both from the sealed context).
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
SELECT app.reset_policies('users');

CREATE POLICY users_visible ON users FOR SELECT
    USING (
        id = (SELECT app.current_user_id())
        OR EXISTS (SELECT 1 FROM memberships m
                   WHERE m.user_id = users.id AND m.tenant_id = (SELECT app.current_tenant_id()))
    );
