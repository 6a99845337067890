-- Experiment 2 (issue 6): app.enter as SECURITY DEFINER.
--
-- app.enter runs as the caller today, so its three lookups (users by email,
-- tenants by slug or id, memberships by tenant and user) go through the
-- users, tenants and memberships RLS policies, whose OR branches call the
-- SECURITY DEFINER helpers and run EXISTS subplans on every call. As its
-- owner, app.enter reads users and tenants directly (they are not FORCEd)
-- and memberships through the policy's user_id branch.
--
-- What it grants is unchanged: the runtime role can already call app.enter
-- with any email (it is trusted to pass the verified identity), and the
-- function returns and sets exactly what it did before. Body unchanged; the
-- search_path is pinned (every name in the body is schema-qualified or in
-- pg_catalog). Apply as the schema owner, after 01. Not a migration.
CREATE OR REPLACE FUNCTION app.enter(p_email text, p_tenant text DEFAULT NULL, p_read_only boolean DEFAULT false)
    RETURNS TABLE (user_id uuid, is_owner boolean, tenant_id uuid, tenant_slug text, role text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        v_email  text := lower(btrim(coalesce(p_email, '')));
        v_tenant public.tenants%ROWTYPE;
        v_role   text;
    BEGIN
        IF p_read_only THEN
            PERFORM pg_catalog.set_config('transaction_read_only', 'on', true);
        END IF;
        -- A context starts empty, even if the transaction entered before.
        PERFORM pg_catalog.set_config('app.tenant_id', '', true);
        PERFORM pg_catalog.set_config('app.role', '', true);
        PERFORM pg_catalog.set_config('app.user_id', '', true);
        PERFORM pg_catalog.set_config('app.user_email', v_email, true);

        SELECT u.id, u.is_owner INTO user_id, is_owner
        FROM public.users u WHERE u.email = v_email;
        IF NOT FOUND THEN
            RETURN; -- unknown identity: no row, no context
        END IF;
        PERFORM pg_catalog.set_config('app.user_id', user_id::text, true);

        IF coalesce(p_tenant, '') <> '' THEN
            IF p_tenant ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
                SELECT * INTO v_tenant FROM public.tenants t WHERE t.id = p_tenant::uuid;
            ELSE
                SELECT * INTO v_tenant FROM public.tenants t WHERE t.slug = p_tenant;
            END IF;
            IF FOUND AND v_tenant.status = 'active' THEN
                IF is_owner THEN
                    v_role := 'owner';
                ELSE
                    SELECT m.role INTO v_role FROM public.memberships m
                    WHERE m.tenant_id = v_tenant.id AND m.user_id = enter.user_id;
                END IF;
            END IF;
            IF v_role IS NOT NULL THEN
                tenant_id := v_tenant.id;
                tenant_slug := v_tenant.slug;
                role := v_role;
                PERFORM pg_catalog.set_config('app.tenant_id', v_tenant.id::text, true);
                PERFORM pg_catalog.set_config('app.role', v_role, true);
                IF v_role = 'client_viewer' THEN
                    PERFORM pg_catalog.set_config('transaction_read_only', 'on', true);
                END IF;
            END IF;
        END IF;
        RETURN NEXT;
    END
    $$;
