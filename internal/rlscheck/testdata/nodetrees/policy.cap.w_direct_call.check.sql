(( SELECT app.current_tenant_id() AS current_tenant_id) = tenant_id)
