-- pgtenant schema, version 1.
--
-- Rules every tenant table follows (DESIGN.md, "Schema rules that close side
-- channels"): tenant_id is the first column of the primary key, of every
-- unique constraint and of every foreign key to another tenant table; every
-- index that serves a tenant query leads with tenant_id; ids are random UUIDs.
-- RLS policies and grants live in db/policies and are applied after this file.

-- Group roles. Roles are cluster-wide and shared by every database of the
-- cluster (test databases too), so creation is idempotent and tolerates a
-- concurrent migration creating the same role. Login roles are the
-- operator's: see README ("Postgres roles").
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgtenant_app') THEN
        BEGIN
            CREATE ROLE pgtenant_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgtenant_admin') THEN
        BEGIN
            CREATE ROLE pgtenant_admin NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
END
$$;

-- Helpers that read the transaction-local tenant context. They return NULL
-- when a setting is unset: after a transaction that set it ends, Postgres
-- reads an unset custom setting as '' (not NULL) on that connection, and a
-- bare ''::uuid would raise instead of matching nothing.
CREATE SCHEMA app;

CREATE FUNCTION app.current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(pg_catalog.current_setting('app.user_id', true), '')::uuid $$;

CREATE FUNCTION app.current_member_role() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(pg_catalog.current_setting('app.role', true), '') $$;

-- The tenant of the current context. Like the other readers it is a plain
-- SQL expression that Postgres inlines, so a policy's
-- (SELECT app.current_tenant_id()) costs one setting read per statement.
-- Only app.enter sets app.tenant_id, after checking the user's membership
-- (or Owner flag) and that the tenant is active.
CREATE FUNCTION app.current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(pg_catalog.current_setting('app.tenant_id', true), '')::uuid $$;

CREATE FUNCTION app.current_user_email() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(pg_catalog.current_setting('app.user_email', true), '') $$;

CREATE TABLE tenants (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    slug       text        NOT NULL,
    name       text        NOT NULL,
    status     text        NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    CONSTRAINT tenants_slug_key UNIQUE (slug),
    CONSTRAINT tenants_slug_check CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    CONSTRAINT tenants_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT tenants_status_check CHECK (status IN ('active', 'suspended'))
);

-- Emails are stored normalized (trimmed, lower case), which makes the plain
-- unique constraint case-insensitive.
CREATE TABLE users (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    email        text        NOT NULL,
    display_name text        NOT NULL DEFAULT '',
    is_owner     boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_check CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 320 AND email LIKE '_%@_%'),
    CONSTRAINT users_display_name_check CHECK (length(display_name) <= 200)
);

-- Whether the context's user is a platform Owner (read from users, never
-- from a setting or a token claim). SECURITY DEFINER so it reads the one
-- flag without the caller's policies (users is not FORCEd: its owner, the
-- migrating role, bypasses RLS there and never serves requests); the only
-- row it can read is the one app.user_id names; the search_path is pinned.
-- PL/pgSQL rather than SQL: Postgres never inlines a SECURITY DEFINER
-- function, and re-plans a non-inlined SQL function's body in every
-- statement, while PL/pgSQL keeps its plan for the session.
CREATE FUNCTION app.current_is_owner() RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        RETURN coalesce((SELECT u.is_owner FROM public.users u
                         WHERE u.id = NULLIF(pg_catalog.current_setting('app.user_id', true), '')::uuid), false);
    END
    $$;

CREATE TABLE memberships (
    tenant_id  uuid        NOT NULL DEFAULT app.current_tenant_id(),
    user_id    uuid        NOT NULL,
    role       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memberships_pkey PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT memberships_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    -- users is a global (reference) table: the key cannot carry tenant_id.
    CONSTRAINT memberships_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT memberships_role_check CHECK (role IN ('partner', 'client_viewer'))
);
-- "My memberships" (GET /v1/me, tenant resolution) look up by user across
-- tenants; the primary key serves every query inside a tenant.
CREATE INDEX memberships_user_idx ON memberships (user_id, tenant_id);

CREATE TABLE projects (
    tenant_id   uuid        NOT NULL DEFAULT app.current_tenant_id(),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_pkey PRIMARY KEY (tenant_id, id),
    -- Scoped uniqueness: another tenant's project names are no oracle.
    CONSTRAINT projects_name_key UNIQUE (tenant_id, name),
    CONSTRAINT projects_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT projects_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT projects_description_check CHECK (length(description) <= 10000)
);
CREATE INDEX projects_page_idx ON projects (tenant_id, created_at, id);

CREATE TABLE tasks (
    tenant_id  uuid        NOT NULL DEFAULT app.current_tenant_id(),
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    project_id uuid        NOT NULL,
    title      text        NOT NULL,
    done       boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tasks_pkey PRIMARY KEY (tenant_id, id),
    -- Composite key: a task can only point at a project of its own tenant
    -- (FK checks ignore RLS, so a single-column key would let a client attach
    -- a task to a guessed project id of another tenant).
    CONSTRAINT tasks_project_fkey FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT tasks_title_check CHECK (length(btrim(title)) BETWEEN 1 AND 500)
);
CREATE INDEX tasks_page_idx ON tasks (tenant_id, project_id, created_at, id);

-- Audit log of every use of the BYPASSRLS admin role. Not a tenant table (an
-- action may span tenants): the runtime role has no privilege on it at all,
-- the admin role may INSERT and SELECT, and the trigger below refuses UPDATE,
-- DELETE and TRUNCATE from anyone short of the table owner dropping it.
CREATE TABLE audit_log (
    id            bigint      GENERATED ALWAYS AS IDENTITY,
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_user_id uuid,
    actor_email   text        NOT NULL,
    actor_role    text        NOT NULL,
    reason        text        NOT NULL,
    action        text        NOT NULL,
    tenant_ids    uuid[]      NOT NULL DEFAULT '{}',
    request_id    text        NOT NULL DEFAULT '',
    client_addr   text        NOT NULL DEFAULT '',
    detail        jsonb       NOT NULL DEFAULT '{}',
    CONSTRAINT audit_log_pkey PRIMARY KEY (id),
    CONSTRAINT audit_log_reason_check CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
    CONSTRAINT audit_log_action_check CHECK (length(action) BETWEEN 1 AND 100)
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_tenant_idx ON audit_log USING gin (tenant_ids);

CREATE FUNCTION app.audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$;

CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION app.audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION app.audit_log_append_only();

-- app.enter establishes the tenant context of one transaction from a
-- verified identity (an email) and the tenant a request names (slug or id).
-- It runs as the caller (the runtime role), under the RLS policies that let a
-- user see its own user row and memberships, and sets app.user_id,
-- app.tenant_id and app.role with set_config(..., true): transaction-local,
-- gone at COMMIT or ROLLBACK, never on a pooled session.
--
-- A tenant the user is not a member of (and is not an Owner), an unknown
-- tenant and a suspended tenant all leave app.tenant_id unset, so every
-- tenant table reads as empty and refuses writes. Client Viewers get a
-- READ ONLY transaction. The row returned tells the caller what was granted
-- (user_id NULL: unknown identity; tenant_id NULL: no tenant context).
--
-- This is the gate: the policies trust the settings it leaves, and nothing
-- else in pgtenant writes them (txscope calls app.enter at the start of
-- every transaction, and of every statement of a read scope). Its cost is
-- two index lookups in plans PL/pgSQL keeps for the session.
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
    $$;

-- Drops every policy on a table, so a policy file can recreate its table's
-- policies from scratch (a policy renamed or removed in the file disappears
-- from the database too).
CREATE FUNCTION app.reset_policies(p_table regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        p record;
    BEGIN
        FOR p IN SELECT polname FROM pg_catalog.pg_policy WHERE polrelid = p_table LOOP
            EXECUTE format('DROP POLICY %I ON %s', p.polname, p_table);
        END LOOP;
    END
    $$;
REVOKE ALL ON FUNCTION app.reset_policies(regclass) FROM PUBLIC;
