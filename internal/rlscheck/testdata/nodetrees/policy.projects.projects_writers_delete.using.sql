(( SELECT app.current_member_role() AS current_member_role) = ANY (ARRAY['owner'::text, 'partner'::text]))
