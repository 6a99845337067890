-- issue 11, row 3: a SECURITY DEFINER function in public, owned by the owner, executable by the runtime role.
CREATE FUNCTION public.all_users() RETURNS SETOF users
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'SELECT * FROM public.users';
GRANT EXECUTE ON FUNCTION public.all_users() TO pgtenant_app;
