(tenant_id OPERATOR(public.=) ( SELECT app.current_tenant_id() AS current_tenant_id))
