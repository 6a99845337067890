(NOT (tenant_id IS DISTINCT FROM ( SELECT app.current_tenant_id() AS current_tenant_id)))
