-- Reverts 0004: the context helpers read the settings directly again,
-- app.enter takes no proof and runs as the caller, the audit log's
-- stamping and the admin-write check go away. The constraint triggers of
-- db/policies/95_admin_audit.sql are dropped here too (the policy step only
-- runs on up).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT tgrelid::regclass AS tbl FROM pg_catalog.pg_trigger WHERE tgname = 'admin_write_audited' LOOP
        EXECUTE format('DROP TRIGGER admin_write_audited ON %s', t.tbl);
    END LOOP;
END
$$;
DROP TRIGGER IF EXISTS audit_log_stamp ON audit_log;
DROP FUNCTION IF EXISTS app.audit_log_stamp(), app.require_audit_row(), app.audited_writer();
DROP INDEX IF EXISTS audit_log_xact_idx;
ALTER TABLE audit_log DROP COLUMN IF EXISTS xact, DROP COLUMN IF EXISTS db_user;
ALTER TABLE audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;
ALTER TABLE audit_log NO FORCE ROW LEVEL SECURITY; -- FORCE hides the rows from the owner too
SELECT setval(pg_get_serial_sequence('audit_log', 'id'), coalesce((SELECT max(id) FROM audit_log), 0) + 1, false);
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS memberships_entry ON memberships;
DROP POLICY IF EXISTS memberships_resolve ON memberships; -- its name since issue 14 (db/policies/30_memberships.sql)
DROP POLICY IF EXISTS users_visible ON users;
DROP FUNCTION IF EXISTS app.context_key_rotate(interval), app.context_keys(), app.enter(text, text, boolean, text),
    app.seal_context(uuid, uuid, text, boolean);

CREATE OR REPLACE FUNCTION app.current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(pg_catalog.current_setting('app.user_id', true), '')::uuid $$;
CREATE OR REPLACE FUNCTION app.current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(pg_catalog.current_setting('app.tenant_id', true), '')::uuid $$;
CREATE OR REPLACE FUNCTION app.current_member_role() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(pg_catalog.current_setting('app.role', true), '') $$;
CREATE FUNCTION app.current_user_email() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(pg_catalog.current_setting('app.user_email', true), '') $$;
CREATE OR REPLACE FUNCTION app.current_is_owner() RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        RETURN coalesce((SELECT u.is_owner FROM public.users u
                         WHERE u.id = NULLIF(pg_catalog.current_setting('app.user_id', true), '')::uuid), false);
    END
    $$;
-- app.claimed_tenant_id() stays: the permissive tenant policies (re-created
-- by the policy files on the next up) depend on it, and it reads the
-- setting exactly as the helpers restored above do.
DROP FUNCTION IF EXISTS app.context();
-- The 0001 app.enter (as the caller, no proof) comes back verbatim.
CREATE FUNCTION app.enter(p_email text, p_tenant text DEFAULT NULL, p_read_only boolean DEFAULT false,
        OUT user_id uuid, OUT is_owner boolean, OUT tenant_id uuid, OUT tenant_slug text, OUT role text)
    LANGUAGE plpgsql VOLATILE
    AS $$
    DECLARE
        v_email  text := lower(btrim(coalesce(p_email, '')));
        v_tenant uuid;
        v_slug   text;
        v_role   text;
    BEGIN
        PERFORM pg_catalog.set_config('app.user_email', v_email, true),
                pg_catalog.set_config('app.user_id', '', true),
                pg_catalog.set_config('app.tenant_id', '', true),
                pg_catalog.set_config('app.role', '', true);
        SELECT u.id, u.is_owner INTO user_id, is_owner FROM public.users u WHERE u.email = v_email;
        IF user_id IS NOT NULL THEN
            PERFORM pg_catalog.set_config('app.user_id', user_id::text, true);
            IF coalesce(p_tenant, '') <> '' THEN
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
    $$;
DROP SCHEMA app_private CASCADE;
