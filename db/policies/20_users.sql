-- users: global identities. Not a tenant table (no tenant_id); RLS enabled,
-- not forced: its owner reads the Owner flag in app.current_is_owner(). The runtime role sees its own
-- row (by the verified email app.enter set, or by app.user_id) and the rows
-- of the members of the tenant in context.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
SELECT app.reset_policies('users');

CREATE POLICY users_visible ON users FOR SELECT
    USING (
        email = (SELECT app.current_user_email())
        OR id = (SELECT app.current_user_id())
        OR EXISTS (SELECT 1 FROM memberships m
                   WHERE m.user_id = users.id AND m.tenant_id = (SELECT app.current_tenant_id()))
    );
