-- memberships: who belongs to which tenant, with which role. A tenant table,
-- with one exception to strict isolation for reads: a user sees its own
-- memberships in every tenant (GET /v1/me, tenant resolution). That read
-- policy is the only permissive SELECT policy; writes are isolated by
-- restrictive policies and limited to Owners and Partners.
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
SELECT app.reset_policies('memberships');

CREATE POLICY memberships_read ON memberships FOR SELECT
    USING (tenant_id = (SELECT app.current_tenant_id())
           OR user_id = (SELECT app.current_user_id()));

-- app.enter runs as the schema owner, which FORCE subjects to these policies
-- like anyone, before any context exists: this policy, for the owner only
-- (the role applying this file), lets it read the memberships of the user
-- it is resolving (app.entry_user_id, set by app.enter for that one
-- lookup). The runtime role is not the owner; this policy never applies to it.
--
-- Named to sort after memberships_read: Postgres ORs a table's permissive
-- policies last name first, so this cheap arm is evaluated first and, being
-- true for every row app.enter looks up, spares the two initPlans of
-- memberships_read (two calls of app.context(), three seal checks in a
-- write's FOR SHARE lookup). Only the cost depends on the order, not the
-- result (issue 14: about 13 us of backend CPU per request, docs/benchmarks.md).
CREATE POLICY memberships_resolve ON memberships FOR SELECT TO CURRENT_USER
    USING (user_id = NULLIF(pg_catalog.current_setting('app.entry_user_id', true), '')::uuid);

-- Writes: the permissive policies name the tenant unchecked (one seal
-- check less per statement); the restrictive ones below check the sealed
-- context. Reads keep the checked helpers: memberships_read is the only
-- SELECT policy.
CREATE POLICY memberships_insert ON memberships FOR INSERT
    WITH CHECK (tenant_id = (SELECT app.claimed_tenant_id()));
CREATE POLICY memberships_update ON memberships FOR UPDATE
    USING (tenant_id = (SELECT app.claimed_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.claimed_tenant_id()));
CREATE POLICY memberships_delete ON memberships FOR DELETE
    USING (tenant_id = (SELECT app.claimed_tenant_id()));

CREATE POLICY memberships_isolation_insert ON memberships AS RESTRICTIVE FOR INSERT
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id())
                AND (SELECT app.current_member_role()) IN ('owner', 'partner'));
CREATE POLICY memberships_isolation_update ON memberships AS RESTRICTIVE FOR UPDATE
    USING (tenant_id = (SELECT app.current_tenant_id())
           AND (SELECT app.current_member_role()) IN ('owner', 'partner'))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id())
                AND (SELECT app.current_member_role()) IN ('owner', 'partner'));
CREATE POLICY memberships_isolation_delete ON memberships AS RESTRICTIVE FOR DELETE
    USING (tenant_id = (SELECT app.current_tenant_id())
           AND (SELECT app.current_member_role()) IN ('owner', 'partner'));

-- updated_at, the ETag's version, moves on every write (db/schema 0010).
CREATE OR REPLACE TRIGGER memberships_touch BEFORE UPDATE ON memberships
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
ALTER TABLE memberships ENABLE TRIGGER memberships_touch;

-- A tenant keeps at least one Partner (app.keep_a_partner, issue 12).
CREATE OR REPLACE TRIGGER memberships_keep_a_partner AFTER UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION app.keep_a_partner();
ALTER TABLE memberships ENABLE TRIGGER memberships_keep_a_partner;
