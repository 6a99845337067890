((tenant_id = ( SELECT app.current_tenant_id() AS current_tenant_id)) OR (user_id = ( SELECT app.current_user_id() AS current_user_id)))
