-- Experiment 3 (issue 6): app.current_tenant_id() without the per-statement
-- tenant status lookup: a plain SQL function that PostgreSQL inlines, like
-- app.current_user_id().
--
-- Semantics change: a tenant suspended while a scope is open would stay
-- readable until the scope ends. app.enter still refuses a suspended tenant
-- at the start of every scope; to keep suspension immediate for the second
-- and later statements of a txscope Read scope, txscope's restore path would
-- pipeline app.enter instead of raw set_config (same round trips). The
-- memberships, projects and tasks DEFAULT tenant_id and every policy read
-- the setting directly. Apply after 01 (current_is_owner stays PL/pgSQL).
CREATE OR REPLACE FUNCTION app.current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(pg_catalog.current_setting('app.tenant_id', true), '')::uuid $$;
