(tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid)
