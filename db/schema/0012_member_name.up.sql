-- Client Viewers see members' names, not their emails (issue 11).
--
-- The users policy (db/policies/20_users.sql) now shows a Client Viewer
-- its own row only; Owners and Partners still see the rows (emails
-- included) of their tenant's members. The member pages take display names
-- from app.member_name(user), which any member may call, and emails from
-- users, which is empty for a Client Viewer. The function's current
-- definition is in db/policies/00_functions.sql; it is created here so the
-- queries (db/queries/members.sql, checked by sqlc against db/schema) can
-- name it.
-- app.member_name(user) is the display name of a member of the tenant in
-- context, for everyone in the tenant, Client Viewers included: the users
-- policy shows a Client Viewer no one's row but its own (and so no one's
-- email: a Client Viewer is the agency's client; it sees the team's names,
-- not their addresses), and this is how it still sees names. SECURITY
-- DEFINER (the owner reads users past that policy), with the tenant check
-- explicit: NULL unless the user is a member of the context's tenant, read
-- through the memberships policies (FORCE), so no context, or another
-- tenant's user, gives nothing. It returns no email. A scalar function,
-- not a set: called per row of a page, it keeps the pages' index-ordered
-- plans.
CREATE OR REPLACE FUNCTION app.member_name(p_user uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT u.display_name FROM public.users u
    WHERE u.id = p_user
      AND EXISTS (SELECT FROM public.memberships m WHERE m.user_id = p_user AND m.tenant_id = app.current_tenant_id())
    $$;
