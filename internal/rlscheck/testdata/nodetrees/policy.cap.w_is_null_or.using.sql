((( SELECT app.current_tenant_id() AS current_tenant_id) IS NULL) OR (tenant_id = ( SELECT app.current_tenant_id() AS current_tenant_id)))
