(tenant_id = app.current_tenant_id())
