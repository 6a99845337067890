-- Experiment 1 (issue 6): the SECURITY DEFINER helpers as PL/pgSQL.
--
-- On PostgreSQL 15 a SQL-language function that cannot be inlined (SECURITY
-- DEFINER functions never are) re-parses and re-plans its body every time a
-- statement starts using it: app.current_tenant_id() and
-- app.current_is_owner() pay that in every statement whose RLS policies call
-- them (twice per projects/tasks statement: one InitPlan per policy).
-- PL/pgSQL caches its plans for the session. Same bodies, same checks, same
-- pinned search_path, same grants (CREATE OR REPLACE keeps them).
--
-- Apply as the schema owner or a superuser. Not a migration: a measured
-- proposal (docs/benchmarks.md).
CREATE OR REPLACE FUNCTION app.current_tenant_id() RETURNS uuid
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        RETURN (SELECT t.id FROM public.tenants t
                WHERE t.id = NULLIF(pg_catalog.current_setting('app.tenant_id', true), '')::uuid
                  AND t.status = 'active');
    END
    $$;

CREATE OR REPLACE FUNCTION app.current_is_owner() RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        RETURN coalesce((SELECT u.is_owner FROM public.users u
                         WHERE u.id = NULLIF(pg_catalog.current_setting('app.user_id', true), '')::uuid), false);
    END
    $$;
