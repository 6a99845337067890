set_config('app.tenant_id'::text, '00000000-0000-0000-0000-000000000001'::text, true)
