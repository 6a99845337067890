-- memberships_read keeps both of its checks, OR any row with a user (every row: user_id is NOT NULL).
ALTER POLICY memberships_read ON memberships
    USING (tenant_id = (SELECT app.current_tenant_id()) OR user_id = (SELECT app.current_user_id()) OR user_id IS NOT NULL);
