-- projects: a tenant table. Restrictive isolation on every command, so a
-- permissive policy added later cannot widen access across tenants; writes
-- only for Owners and Partners (Client Viewers read).
ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE projects FORCE ROW LEVEL SECURITY;
SELECT app.reset_policies('projects');

-- The permissive policy names the tenant unchecked (app.claimed_tenant_id():
-- one seal check less per statement); the restrictive one below checks the
-- sealed context, and a row must pass both.
CREATE POLICY projects_tenant ON projects
    USING (tenant_id = (SELECT app.claimed_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.claimed_tenant_id()));

CREATE POLICY projects_isolation ON projects AS RESTRICTIVE
    USING (tenant_id = (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));

CREATE POLICY projects_writers_insert ON projects AS RESTRICTIVE FOR INSERT
    WITH CHECK ((SELECT app.current_member_role()) IN ('owner', 'partner'));
CREATE POLICY projects_writers_update ON projects AS RESTRICTIVE FOR UPDATE
    USING ((SELECT app.current_member_role()) IN ('owner', 'partner'))
    WITH CHECK ((SELECT app.current_member_role()) IN ('owner', 'partner'));
CREATE POLICY projects_writers_delete ON projects AS RESTRICTIVE FOR DELETE
    USING ((SELECT app.current_member_role()) IN ('owner', 'partner'));

-- updated_at, the ETag's version, moves on every write (db/schema 0010).
CREATE OR REPLACE TRIGGER projects_touch BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
ALTER TABLE projects ENABLE TRIGGER projects_touch;
