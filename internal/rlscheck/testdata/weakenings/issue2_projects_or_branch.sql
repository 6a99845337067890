-- issue 11, row 2: the isolation policies of projects rewritten as <canonical> OR <something else>.
ALTER POLICY projects_tenant ON projects
    USING (tenant_id = (SELECT app.current_tenant_id()) OR length(name) > 0)
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()) OR length(name) > 0);
ALTER POLICY projects_isolation ON projects
    USING (tenant_id = (SELECT app.current_tenant_id()) OR length(name) > 0)
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()) OR length(name) > 0);
