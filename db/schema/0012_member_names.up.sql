-- Client Viewers see members' names, not their emails (issue 11).
--
-- The users policy (db/policies/20_users.sql) now shows a Client Viewer
-- its own row only; Owners and Partners still see the rows (emails
-- included) of their tenant's members. The member pages take display names
-- from app.member_names(), which any member may call, and emails from
-- users, which is empty for a Client Viewer. The function's current
-- definition is in db/policies/00_functions.sql; it is created here so the
-- queries (db/queries/members.sql, checked by sqlc against db/schema) can
-- name it.
-- app.member_names() lists the members of the tenant in context with their
-- display names, for everyone in the tenant, Client Viewers included:
-- the users policy shows a Client Viewer no one's row but its own (and so
-- no one's email: a Client Viewer is the agency's client; it sees the
-- team's names, not their addresses), and this is how it still sees
-- names. SECURITY DEFINER (the owner reads users past that policy), with
-- the tenant check explicit: the rows are the context's tenant's members,
-- read through the memberships policies (FORCE), so no context means no
-- rows. It returns no email.
CREATE OR REPLACE FUNCTION app.member_names() RETURNS TABLE (user_id uuid, display_name text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT u.id, u.display_name
    FROM public.memberships m JOIN public.users u ON u.id = m.user_id
    WHERE m.tenant_id = app.current_tenant_id()
    $$;
