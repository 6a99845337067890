(tenant_id IN ( SELECT m.tenant_id    FROM memberships m   WHERE (m.user_id = ( SELECT app.current_user_id() AS current_user_id))))
