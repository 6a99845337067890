-- tenants: the registry of tenants. Not a tenant table (no tenant_id), so RLS
-- is enabled but not forced (its owner, the migrating role, never serves
-- requests). The runtime role sees the tenant of its context, the tenants it
-- is a member of, and every tenant when the context's user is an Owner.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY;
SELECT app.reset_policies('tenants');

CREATE POLICY tenants_visible ON tenants FOR SELECT
    USING (
        id = (SELECT app.current_tenant_id())
        OR EXISTS (SELECT 1 FROM memberships m
                   WHERE m.tenant_id = tenants.id AND m.user_id = (SELECT app.current_user_id()))
        OR (SELECT app.current_is_owner())
    );

-- updated_at, the ETag's version, moves on every write (db/schema 0010).
CREATE OR REPLACE TRIGGER tenants_touch BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
ALTER TABLE tenants ENABLE TRIGGER tenants_touch;
