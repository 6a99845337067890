((tenant_id = ( SELECT app.current_tenant_id() AS current_tenant_id)) AND (( SELECT app.current_member_role() AS current_member_role) = ANY (ARRAY['owner'::text, 'partner'::text])))
