-- A NULL escape without IS NULL: with no context, coalesce falls back to the row's own tenant_id.
ALTER POLICY projects_tenant ON projects
    USING (tenant_id = coalesce((SELECT app.current_tenant_id()), tenant_id));
ALTER POLICY projects_isolation ON projects
    USING (tenant_id = coalesce((SELECT app.current_tenant_id()), tenant_id));
