(EXISTS ( SELECT 1 AS ":x y",     '-1.5'::numeric AS "1st"    FROM tenants t   WHERE ((t.id = cap.tenant_id) AND (t.slug ~~ '%(%'::text))))
