-- tasks: a tenant table. Restrictive isolation on every command, so a
-- permissive policy added later cannot widen access across tenants; writes
-- only for Owners and Partners (Client Viewers read).
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE tasks FORCE ROW LEVEL SECURITY;
SELECT app.reset_policies('tasks');

-- The permissive policy names the tenant unchecked (app.claimed_tenant_id():
-- one seal check less per statement); the restrictive one below checks the
-- sealed context, and a row must pass both.
CREATE POLICY tasks_tenant ON tasks
    USING (tenant_id = (SELECT app.claimed_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.claimed_tenant_id()));

CREATE POLICY tasks_isolation ON tasks AS RESTRICTIVE
    USING (tenant_id = (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));

CREATE POLICY tasks_writers_insert ON tasks AS RESTRICTIVE FOR INSERT
    WITH CHECK ((SELECT app.current_member_role()) IN ('owner', 'partner'));
CREATE POLICY tasks_writers_update ON tasks AS RESTRICTIVE FOR UPDATE
    USING ((SELECT app.current_member_role()) IN ('owner', 'partner'))
    WITH CHECK ((SELECT app.current_member_role()) IN ('owner', 'partner'));
CREATE POLICY tasks_writers_delete ON tasks AS RESTRICTIVE FOR DELETE
    USING ((SELECT app.current_member_role()) IN ('owner', 'partner'));

-- updated_at, the ETag's version, moves on every write (db/schema 0010).
CREATE OR REPLACE TRIGGER tasks_touch BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
ALTER TABLE tasks ENABLE TRIGGER tasks_touch;
