-- Experiment (issue 6): app.enter as SECURITY DEFINER.
--
-- The one measured trade-off left. app.enter runs as the caller (the
-- runtime role), so its two lookups pass through the users, tenants and
-- memberships policies (OR branches, hashed subplans, InitPlans). As the
-- schema owner it would read users and tenants directly (they are not
-- FORCEd) and memberships through the policy's user_id branch: same
-- checks, same result, a pinned search_path.
--
-- Not adopted: issue 3 asks that identity and membership be resolved as
-- the runtime role under RLS policies that let a user see its own rows, and
-- a definer function owned by the schema owner would read every user and
-- tenant row on that path. docs/benchmarks.md shows what it would buy.
--
-- Applied as the superuser to a scratch benchmark database by
-- `make bench-experiments` (-perf.sql); never by migrations.
CREATE OR REPLACE FUNCTION app.enter(p_email text, p_tenant text DEFAULT NULL::text, p_read_only boolean DEFAULT false, OUT user_id uuid, OUT is_owner boolean, OUT tenant_id uuid, OUT tenant_slug text, OUT role text)
 RETURNS record
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    DECLARE
        v_email  text := lower(btrim(coalesce(p_email, '')));
        v_tenant uuid;
        v_slug   text;
        v_role   text;
    BEGIN
        -- A context starts empty, even if the transaction entered before;
        -- the email lets the users policy show the caller its own row.
        PERFORM pg_catalog.set_config('app.user_email', v_email, true),
                pg_catalog.set_config('app.user_id', '', true),
                pg_catalog.set_config('app.tenant_id', '', true),
                pg_catalog.set_config('app.role', '', true);
        SELECT u.id, u.is_owner INTO user_id, is_owner FROM public.users u WHERE u.email = v_email;
        IF user_id IS NOT NULL THEN
            -- Lets the memberships policy show the caller its own rows.
            PERFORM pg_catalog.set_config('app.user_id', user_id::text, true);
            IF coalesce(p_tenant, '') <> '' THEN
                -- Two statements rather than one with a CASE, so each keeps an
                -- index plan.
                IF p_tenant ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
                    SELECT t.id, t.slug, m.role INTO v_tenant, v_slug, v_role
                    FROM public.tenants t
                    LEFT JOIN public.memberships m ON m.tenant_id = t.id AND m.user_id = enter.user_id
                    WHERE t.id = p_tenant::uuid AND t.status = 'active';
                ELSE
                    SELECT t.id, t.slug, m.role INTO v_tenant, v_slug, v_role
                    FROM public.tenants t
                    LEFT JOIN public.memberships m ON m.tenant_id = t.id AND m.user_id = enter.user_id
                    WHERE t.slug = p_tenant AND t.status = 'active';
                END IF;
                IF is_owner AND v_tenant IS NOT NULL THEN
                    v_role := 'owner';
                END IF;
                IF v_role IS NOT NULL THEN
                    tenant_id := v_tenant;
                    tenant_slug := v_slug;
                    role := v_role;
                    PERFORM pg_catalog.set_config('app.tenant_id', v_tenant::text, true),
                            pg_catalog.set_config('app.role', v_role, true);
                END IF;
            END IF;
        END IF;
        IF p_read_only OR role = 'client_viewer' THEN
            PERFORM pg_catalog.set_config('transaction_read_only', 'on', true);
        END IF;
    END
    $function$;
