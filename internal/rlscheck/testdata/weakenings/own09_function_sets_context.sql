-- A SECURITY INVOKER function that runs with SET app.tenant_id = beta: the caller reads beta's rows.
-- Applied as a superuser: PostgreSQL 15 lets only superusers (or roles granted SET ON PARAMETER) put an app.* setting on a function.
CREATE FUNCTION public.beta_projects() RETURNS SETOF projects LANGUAGE sql STABLE
    SET app.tenant_id = '00000000-0000-0000-0000-0000000000b2'
    AS 'SELECT * FROM public.projects';
