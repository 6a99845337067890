-- Members API: Owners and Partners add people to their tenant by email.

-- Lists members in join order within a tenant (keyset pagination).
CREATE INDEX memberships_page_idx ON memberships (tenant_id, created_at, user_id);

-- app.member_add adds p_email to the tenant in context with role p_role,
-- creating the user row when the address is new (an invitation: the person
-- can sign in once Cloudflare Access lets them through).
--
-- The runtime role cannot insert users (users are global) nor see users
-- outside its tenant, so this runs as SECURITY DEFINER, owned by the schema
-- owner. Its authority is exactly the explicit checks below: the caller's
-- context must name an active tenant, the caller's role there must be owner
-- or partner, and the only tenant it writes to is the context's. The
-- membership insert still passes through the memberships policies (FORCE).
-- The search_path is pinned so a caller cannot substitute objects.
CREATE FUNCTION app.member_add(p_email text, p_role text)
    RETURNS SETOF memberships
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        v_tenant uuid := app.current_tenant_id();
        v_role   text := app.current_member_role();
        v_email  text := lower(btrim(coalesce(p_email, '')));
        v_user   uuid;
    BEGIN
        IF v_tenant IS NULL OR v_role IS NULL OR v_role NOT IN ('owner', 'partner') THEN
            RAISE EXCEPTION 'member_add: only owners and partners of the tenant in context may add members'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF p_role IS NULL OR p_role NOT IN ('partner', 'client_viewer') THEN
            RAISE EXCEPTION 'member_add: role must be partner or client_viewer' USING ERRCODE = 'check_violation';
        END IF;
        INSERT INTO public.users (email) VALUES (v_email) ON CONFLICT (email) DO NOTHING;
        SELECT u.id INTO v_user FROM public.users u WHERE u.email = v_email;
        INSERT INTO public.memberships (tenant_id, user_id, role) VALUES (v_tenant, v_user, p_role)
            ON CONFLICT (tenant_id, user_id) DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'member_add: already a member' USING ERRCODE = 'unique_violation';
        END IF;
        RETURN QUERY
            SELECT m.* FROM public.memberships m WHERE m.tenant_id = v_tenant AND m.user_id = v_user;
    END
    $$;
