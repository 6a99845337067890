-- Functions: the current definition of every function in schema app, as
-- CREATE OR REPLACE, re-applied with the other policy files (issue 11).
--
-- The versioned migrations (db/schema) created these functions and stay as
-- their history; this file is their present. A body replaced by hand
-- (app.current_is_owner() made to return true), an attribute changed
-- (SECURITY DEFINER, a SET clause, LEAKPROOF) or a function dropped is put
-- back by `server migrate up`: the catalog fingerprint covers function
-- bodies and attributes, so such a change shows as drift and every policy
-- file, this one first, is applied again. CREATE OR REPLACE keeps a
-- function's owner and privileges (00_grants.sql, applied next, sets
-- those) and replaces everything else.
--
-- To change a function: edit it here (and add a migration only when its
-- signature or result type changes, or a new object depends on it), then
-- regenerate internal/rlscheck/expectation.json.
--
-- Every name is schema-qualified (the file runs with the migrating role's
-- search_path).

-- app.fold_email is rules.NormalizeEmail (internal/tenancy/rules): ASCII
-- white space trimmed, ASCII letters lower-cased, every other character
-- kept as it is. Not lower(btrim()): Postgres's lower() folds non-ASCII
-- letters as the database's locale says (the KELVIN SIGN of
-- '\u212Aate@acme.com' becomes 'k'), so two distinct identities could
-- find one user row.
CREATE OR REPLACE FUNCTION app.fold_email(p_email text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT pg_catalog.translate(pg_catalog.btrim(p_email, E' \t\n\x0b\f\r'),
                                      'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') $$;

-- app.text_ok is the text rule of every free-text column, rules.CleanText
-- (internal/tenancy/rules; a test compares the character classes below
-- with the Go rule's, and both rules on the same inputs): no C0 or C1
-- control or DEL (multiline text keeps tab, newline and carriage return),
-- no format character (Unicode Cf: zero-width characters, the bidi
-- embeddings, overrides and isolates, ...), no line or paragraph separator;
-- in Unicode NFC; and, when required, at least one character that is not
-- blank (white space, Hangul fillers, variation selectors, ...). Lengths
-- stay in each constraint.
CREATE OR REPLACE FUNCTION app.text_ok(p_text text, p_multiline boolean, p_required boolean) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT CASE WHEN p_multiline
                THEN p_text !~ '[\u0001-\u0008\u000b-\u000c\u000e-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]'
                ELSE p_text !~ '[\u0001-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]' END
       AND p_text IS NFC NORMALIZED
       AND (NOT p_required OR p_text ~ '[^\u0009-\u000d\u0020\u0085\u00a0\u034f\u115f-\u1160\u1680\u2000-\u200a\u2028-\u2029\u202f\u205f\u2800\u3000\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]')
    $$;

-- app.valid_email is rules.ValidEmail: 3 to 320 bytes, one @ with text on
-- both sides, no ASCII capital (the address is stored as app.fold_email
-- leaves it), the text rule, and no blank character anywhere (a no-break
-- space around an address is not trimmed into another address: it is
-- refused).
CREATE OR REPLACE FUNCTION app.valid_email(p_email text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT pg_catalog.octet_length(p_email) BETWEEN 3 AND 320
       AND p_email ~ '^[^@]+@[^@]+$'
       AND p_email !~ '[A-Z]'
       AND app.text_ok(p_email, false, true)
       AND p_email !~ '[\u0009-\u000d\u0020\u0085\u00a0\u034f\u115f-\u1160\u1680\u2000-\u200a\u2028-\u2029\u202f\u205f\u2800\u3000\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]'
    $$;

-- app.context() is the one reader of the tenant context: the settings as
-- they are right now, if app.seal is an HMAC over exactly them, this
-- backend's pid and this transaction's start (keyed by a live key); else
-- all NULL. PL/pgSQL so its two queries keep their plans for the session;
-- SECURITY DEFINER to read the key; PARALLEL RESTRICTED because
-- pg_backend_pid() differs in a parallel worker (the policies call it in an
-- initPlan, which the leader runs). COST 1 keeps the plans the inlined
-- setting readers had: a query comparing tenant_id with
-- app.current_tenant_id() still gets an index condition (evaluated once per
-- scan) rather than a plan shaped around a costly function.
CREATE OR REPLACE FUNCTION app.context(OUT user_id uuid, OUT tenant_id uuid, OUT role text, OUT is_owner boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED COST 1
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        -- No seal, no context: answer at once. app.enter's own lookups
        -- read memberships through a policy that calls this function
        -- twice before any seal exists; running the seal query for them
        -- cost about 45 µs of backend CPU per request (issue 14,
        -- docs/benchmarks.md). The answer is the one the query below
        -- gives (no key matches an empty seal): all NULL.
        IF coalesce(pg_catalog.current_setting('app.seal', true), '') = '' THEN
            RETURN;
        END IF;
        -- Otherwise one query: a read scope runs every statement in a
        -- transaction of its own, and PL/pgSQL sets up its simple
        -- expressions again in each transaction, while this query's plan
        -- is kept for the session.
        SELECT NULLIF(current_setting('app.user_id', true), '')::uuid, NULLIF(current_setting('app.tenant_id', true), '')::uuid,
               NULLIF(current_setting('app.role', true), ''), current_setting('app.is_owner', true) = 'true'
        INTO user_id, tenant_id, role, is_owner
        FROM app_private.context_keys k
        WHERE k.id = CASE WHEN length(split_part(current_setting('app.seal', true), '.', 1)) BETWEEN 1 AND 9
                               AND translate(split_part(current_setting('app.seal', true), '.', 1), '0123456789', '') = ''
                          THEN split_part(current_setting('app.seal', true), '.', 1)::integer END
          AND (k.not_after IS NULL OR k.not_after > statement_timestamp())
          AND split_part(current_setting('app.seal', true), '.', 2) = encode(app_private.hmac(convert_to(concat_ws('|',
                'pgtenant-seal-v1', pg_backend_pid(), EXTRACT(epoch FROM transaction_timestamp()),
                current_setting('app.user_id', true), current_setting('app.tenant_id', true),
                current_setting('app.role', true), current_setting('app.is_owner', true)), 'UTF8'),
                k.secret, 'sha256'), 'hex');
    END
    $$;

-- The context helpers: NULL when unset, read through app.context(), so a
-- policy's (SELECT app.current_tenant_id()) verifies the seal once per
-- statement. Plain SQL: Postgres inlines them.
CREATE OR REPLACE FUNCTION app.current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    AS $$ SELECT (app.context()).user_id $$;

CREATE OR REPLACE FUNCTION app.current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    AS $$ SELECT (app.context()).tenant_id $$;

CREATE OR REPLACE FUNCTION app.current_member_role() RETURNS text
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    AS $$ SELECT (app.context()).role $$;

-- app.claimed_tenant_id() is the setting as written, unchecked: NOT a
-- security boundary. For query filters that only narrow what the policies
-- (which call the checked app.current_tenant_id()) already let through, so
-- a forged value can only hide rows; the planner sees through its inlined
-- body and keeps index-ordered plans for pages (MemberListFirst).
CREATE OR REPLACE FUNCTION app.claimed_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(pg_catalog.current_setting('app.tenant_id', true), '')::uuid $$;

-- The Owner flag is part of the sealed context (app.enter reads it from
-- users): no SECURITY DEFINER, no read of users.
CREATE OR REPLACE FUNCTION app.current_is_owner() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    AS $$ SELECT coalesce((app.context()).is_owner, false) $$;

-- app.enter establishes the tenant context of one transaction from a
-- verified identity (an email) and the tenant a request names (slug or id),
-- if p_proof says the server asked for exactly that:
--
--   p_proof = 'v1.' || key_id || '.' || expires (unix seconds) || '.' ||
--             hex(hmac-sha256(key, 'pgtenant-enter-v1|' || len(email) || ':' || email || '|' ||
--                 len(tenant) || ':' || tenant || '|' || (t|f) || '|' || expires))
--
-- (len in bytes; internal/txscope/proof.go makes it). A proof that does not
-- verify, has expired, or names an unknown or retired key raises PT001.
-- The proof covers every argument, so it cannot be reused for another
-- user, tenant or a read-write transaction; its expiry bounds a replay of a
-- proof seen in flight (a server proof lives for a minute).
--
-- Before anything else it cleans the session for the transaction to come:
-- RESET ALL drops session-level settings something else set on this pooled
-- connection (search_path, row_security, statement_timeout, a stash in a
-- custom app.* setting, ...); SQL-level prepared statements (a PREPARE
-- under a name pgx uses for its statement cache would run an attacker's
-- statement in this request) and WITH HOLD cursors are dropped. State it
-- cannot reset from inside a function raises PT002, on which txscope
-- destroys the connection: SET ROLE (RESET ALL leaves it) and temporary
-- objects named like the schema's.
--
-- Resolution runs as the owner (SECURITY DEFINER): users and tenants are
-- read without their policies, memberships through the memberships_resolve
-- policy (owner only). Every request does the same index work whatever it
-- finds: one probe of users, one of tenants and one of memberships (with a
-- nil tenant id when the tenant does not exist), so a non-member cannot tell
-- an existing tenant from a missing one by timing. A tenant the user may not
-- act in (not a member and not an Owner, unknown, suspended) leaves the
-- context without a tenant. Client Viewers, and callers asking for it, get a
-- READ ONLY transaction.
--
-- Entering again in the same transaction needs another proof and replaces
-- the context.
CREATE OR REPLACE FUNCTION app.enter(p_email text, p_tenant text, p_read_only boolean, p_proof text,
        OUT user_id uuid, OUT is_owner boolean, OUT tenant_id uuid, OUT tenant_slug text, OUT role text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    -- Written as a few queries rather than PL/pgSQL expressions: a read
    -- scope calls app.enter in a transaction of its own for every statement,
    -- and PL/pgSQL sets up each of its simple expressions again in every
    -- transaction, while the queries' plans are kept for the session.
    DECLARE
        v_tenant  uuid;
        v_slug    text;
        v_status  text;
        v_role    text;
        v_secret  bytea;
        v_name    text;
        v_suspect boolean;
        v_planted boolean;
    BEGIN
        -- RESET ALL also resets the search_path this function is pinned to,
        -- for the rest of its body (and, being session-level, it outlives
        -- the function, which is the point): from here on every name is
        -- schema-qualified. The checks below refuse a temporary schema that
        -- could shadow a type.
        RESET ALL;
        -- pgtenant never runs SET ROLE, PREPAREs in SQL, declares WITH HOLD
        -- cursors or creates temporary objects: whatever of that is here
        -- was planted. SET ROLE and shadowing temporary objects cannot be
        -- undone from inside a SECURITY DEFINER function: refuse them.
        -- One query looks for all of it (issue 14: a statement fewer, and
        -- no cursor loop, on the path every request takes); the catalog
        -- query that names the problem only runs when there is one.
        SELECT pg_catalog.current_setting('role') <> 'none' OR pg_catalog.pg_my_temp_schema() <> 0,
               EXISTS (SELECT FROM pg_catalog.pg_prepared_statements s WHERE s.from_sql)
               OR EXISTS (SELECT FROM pg_catalog.pg_cursors c WHERE c.is_holdable)
        INTO v_suspect, v_planted;
        IF v_suspect THEN
            SELECT s.problem INTO v_name FROM (
                SELECT 'this session ran SET ROLE ' || pg_catalog.current_setting('role') AS problem
                WHERE pg_catalog.current_setting('role') <> 'none'
                UNION ALL
                SELECT 'this session has temporary objects that shadow the schema'
                WHERE pg_catalog.pg_my_temp_schema() <> 0 AND EXISTS (
                    SELECT FROM pg_catalog.pg_class t JOIN pg_catalog.pg_class p ON p.relname = t.relname
                    WHERE t.relnamespace = pg_catalog.pg_my_temp_schema()
                      AND p.relnamespace IN (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname IN ('public', 'pg_catalog'))
                    UNION ALL
                    SELECT FROM pg_catalog.pg_type t JOIN pg_catalog.pg_type p ON p.typname = t.typname
                    WHERE t.typnamespace = pg_catalog.pg_my_temp_schema()
                      AND p.typnamespace IN (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname IN ('public', 'pg_catalog')))
            ) s LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'app.enter: %', v_name USING ERRCODE = 'PT002';
            END IF;
        END IF;
        -- A planted statement under a name pgx uses would run in this
        -- request's context; drop them all (pgx's own, protocol-level
        -- statements are not from_sql). Close planted cursors.
        IF v_planted THEN
            FOR v_name IN SELECT s.name FROM pg_catalog.pg_prepared_statements s WHERE s.from_sql LOOP
                EXECUTE pg_catalog.format('DEALLOCATE %I', v_name);
            END LOOP;
            PERFORM FROM pg_catalog.pg_cursors c WHERE c.is_holdable;
            IF FOUND THEN
                EXECUTE 'CLOSE ALL'; -- every cursor but the portal running this call
            END IF;
        END IF;

        -- The proof: v1.<key>.<expiry>.<hex mac>, checked in one query
        -- (digits checked with translate before the casts).
        SELECT k.secret INTO v_secret
        FROM (SELECT pg_catalog.split_part(p_proof, '.', 2) AS key, pg_catalog.split_part(p_proof, '.', 3) AS exp) p
        JOIN app_private.context_keys k
          ON k.id = CASE WHEN pg_catalog.split_part(p_proof, '.', 1) = 'v1' AND pg_catalog.length(p.key) BETWEEN 1 AND 9
                              AND pg_catalog.length(p.exp) BETWEEN 1 AND 12 AND pg_catalog.translate(p.key || p.exp, '0123456789', '') = ''
                         THEN p.key::pg_catalog.int4 END
        WHERE (k.not_after IS NULL OR k.not_after > pg_catalog.statement_timestamp())
          AND CASE WHEN pg_catalog.translate(p.exp, '0123456789', '') = '' AND pg_catalog.length(p.exp) BETWEEN 1 AND 12
                   THEN p.exp::pg_catalog.int8 END >= EXTRACT(epoch FROM pg_catalog.statement_timestamp())
          AND pg_catalog.split_part(p_proof, '.', 4) = pg_catalog.encode(app_private.hmac(pg_catalog.convert_to(
                pg_catalog.concat_ws('|', 'pgtenant-enter-v1',
                    pg_catalog.octet_length(coalesce(p_email, '')) || ':' || coalesce(p_email, ''),
                    pg_catalog.octet_length(coalesce(p_tenant, '')) || ':' || coalesce(p_tenant, ''),
                    CASE WHEN p_read_only THEN 't' ELSE 'f' END, p.exp), 'UTF8'), k.secret, 'sha256'), 'hex');
        IF NOT FOUND THEN
            RAISE EXCEPTION 'app.enter: invalid or expired context proof' USING ERRCODE = 'PT001',
                HINT = 'proofs come from the server (txscope) or from `server context-proof`';
        END IF;

        -- Resolution, the same index work on every path: one probe of
        -- users, tenants and memberships each (the membership with a nil
        -- tenant id when the tenant does not exist). memberships is read
        -- through its memberships_resolve policy (this function runs as the
        -- owner, whom FORCE subjects to the policies).
        SELECT u.id, u.is_owner, pg_catalog.set_config('app.entry_user_id', u.id::pg_catalog.text, true) IS NOT NULL
        INTO user_id, is_owner, v_name
        FROM public.users u WHERE u.email = app.fold_email(coalesce(p_email, ''));
        IF FOUND AND p_tenant <> '' THEN
            -- Two statements rather than one with an OR, so each keeps an
            -- index plan. A uuid is 36 characters of hex and dashes.
            IF pg_catalog.length(p_tenant) = 36 AND pg_catalog.translate(pg_catalog.lower(p_tenant), '0123456789abcdef-', '') = '' THEN
                SELECT t.id, t.slug, t.status INTO v_tenant, v_slug, v_status FROM public.tenants t WHERE t.id = p_tenant::pg_catalog.uuid;
            ELSE
                SELECT t.id, t.slug, t.status INTO v_tenant, v_slug, v_status FROM public.tenants t WHERE t.slug = p_tenant;
            END IF;
            SELECT m.role INTO v_role FROM public.memberships m
            WHERE m.tenant_id = coalesce(v_tenant, '00000000-0000-0000-0000-000000000000'::pg_catalog.uuid)
              AND m.user_id = enter.user_id;
            SELECT CASE WHEN v_status IS DISTINCT FROM 'active' THEN NULL WHEN enter.is_owner THEN 'owner' ELSE v_role END
            INTO v_role;
            IF v_role IS NOT NULL THEN
                SELECT v_tenant, v_slug, v_role INTO tenant_id, tenant_slug, role;
            END IF;
        END IF;

        -- The settings and their seal (as app.seal_context makes it), with
        -- the current key, and READ ONLY when asked for or for a Client
        -- Viewer.
        PERFORM pg_catalog.set_config('app.user_id', coalesce(user_id::pg_catalog.text, ''), true),
                pg_catalog.set_config('app.tenant_id', coalesce(tenant_id::pg_catalog.text, ''), true),
                pg_catalog.set_config('app.role', coalesce(role, ''), true),
                pg_catalog.set_config('app.is_owner', CASE WHEN is_owner THEN 'true' ELSE 'false' END, true),
                pg_catalog.set_config('app.seal', k.id || '.' || pg_catalog.encode(app_private.hmac(pg_catalog.convert_to(
                    pg_catalog.concat_ws('|', 'pgtenant-seal-v1', pg_catalog.pg_backend_pid(), EXTRACT(epoch FROM pg_catalog.transaction_timestamp()),
                        coalesce(user_id::pg_catalog.text, ''), coalesce(tenant_id::pg_catalog.text, ''), coalesce(role, ''),
                        CASE WHEN is_owner THEN 'true' ELSE 'false' END), 'UTF8'), k.secret, 'sha256'), 'hex'), true),
                CASE WHEN p_read_only OR role = 'client_viewer' THEN pg_catalog.set_config('transaction_read_only', 'on', true) END
        FROM app_private.context_keys k
        WHERE k.not_after IS NULL ORDER BY k.id DESC LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'app.enter: no current context key (server context-key rotate creates one)' USING ERRCODE = 'PT001';
        END IF;

        -- A read-write context holds a share lock on its tenant row and on
        -- its membership row until the transaction ends (issue 12). A write
        -- that started before an Owner suspended the tenant, or before its
        -- writer's membership was removed or changed, used to commit after
        -- the suspension or removal had returned (app.enter read both rows
        -- without a lock): now the suspension's UPDATE of tenants, and the
        -- removal's DELETE or the role change's UPDATE of memberships, wait
        -- for writes in flight, which commit first; and a writer arriving
        -- while one of those runs waits for it, then finds the row gone or
        -- changed (READ COMMITTED re-checks the row it waited for) and gets
        -- no tenant. FOR SHARE, not FOR KEY SHARE: the status update and the
        -- role change touch no key column, so only FOR SHARE conflicts with
        -- them. Read-only contexts take no lock (hot standby, and a read
        -- scope's statements are transactions of their own). The
        -- membership is read through its policies (FORCE), which the sealed
        -- context above passes.
        IF NOT p_read_only AND role IS NOT NULL AND role <> 'client_viewer' THEN
            PERFORM FROM public.tenants t WHERE t.id = enter.tenant_id AND t.status = 'active' FOR SHARE;
            IF FOUND AND role <> 'owner' THEN
                PERFORM FROM public.memberships m
                WHERE m.tenant_id = enter.tenant_id AND m.user_id = enter.user_id AND m.role = enter.role FOR SHARE;
            END IF;
            IF NOT FOUND THEN
                SELECT NULL, NULL, NULL INTO tenant_id, tenant_slug, role;
                PERFORM app.seal_context(enter.user_id, NULL, NULL, enter.is_owner);
            END IF;
        END IF;
    END
    $$;

-- app.seal_context writes the context settings and their seal. Called by
-- app.enter only (no grant to anyone), when a lock it waited for shows the
-- tenant suspended or the membership gone.
CREATE OR REPLACE FUNCTION app.seal_context(p_user uuid, p_tenant uuid, p_role text, p_owner boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        v_key    integer;
        v_secret bytea;
    BEGIN
        PERFORM set_config('app.user_id', coalesce(p_user::text, ''), true),
                set_config('app.tenant_id', coalesce(p_tenant::text, ''), true),
                set_config('app.role', coalesce(p_role, ''), true),
                set_config('app.is_owner', CASE WHEN p_owner THEN 'true' ELSE 'false' END, true);
        SELECT k.id, k.secret INTO v_key, v_secret FROM app_private.context_keys k
        WHERE k.not_after IS NULL ORDER BY k.id DESC LIMIT 1;
        IF v_key IS NULL THEN
            RAISE EXCEPTION 'app.enter: no current context key (server context-key rotate creates one)'
                USING ERRCODE = 'PT001';
        END IF;
        PERFORM set_config('app.seal', v_key || '.' || encode(app_private.hmac(convert_to(concat_ws('|',
                'pgtenant-seal-v1', pg_backend_pid(), EXTRACT(epoch FROM transaction_timestamp()),
                current_setting('app.user_id', true), current_setting('app.tenant_id', true),
                current_setting('app.role', true), current_setting('app.is_owner', true)), 'UTF8'),
                v_secret, 'sha256'), 'hex'), true);
    END
    $$;

-- The server's key getter and the rotation, for the admin role only (grants
-- in db/policies/00_grants.sql). Rotation adds a key and retires the others
-- after p_grace, so proofs signed by servers that have not re-read the keys
-- yet keep working that long.
CREATE OR REPLACE FUNCTION app.context_keys(OUT id integer, OUT secret bytea, OUT not_after timestamptz)
    RETURNS SETOF record
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT k.id, k.secret, k.not_after FROM app_private.context_keys k
        WHERE k.not_after IS NULL OR k.not_after > statement_timestamp() ORDER BY k.id
    $$;

CREATE OR REPLACE FUNCTION app.context_key_rotate(p_grace interval) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        v_id integer;
    BEGIN
        IF p_grace IS NULL OR p_grace < interval '0' OR p_grace > interval '7 days' THEN
            RAISE EXCEPTION 'context_key_rotate: grace must be between 0 and 7 days' USING ERRCODE = 'check_violation';
        END IF;
        UPDATE app_private.context_keys SET not_after = statement_timestamp() + p_grace WHERE not_after IS NULL;
        DELETE FROM app_private.context_keys WHERE not_after < statement_timestamp() - interval '30 days';
        INSERT INTO app_private.context_keys DEFAULT VALUES RETURNING id INTO v_id;
        RETURN v_id;
    END
    $$;

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
CREATE OR REPLACE FUNCTION app.member_add(p_email text, p_role text)
    RETURNS SETOF public.memberships
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        v_tenant uuid := app.current_tenant_id();
        v_role   text := app.current_member_role();
        v_email  text := app.fold_email(coalesce(p_email, ''));
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

CREATE OR REPLACE FUNCTION app.audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$;

CREATE OR REPLACE FUNCTION app.audit_log_stamp() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        NEW.id := nextval('app_private.audit_log_id_seq');
        NEW.at := clock_timestamp();
        NEW.xact := pg_current_xact_id()::text::bigint;
        NEW.db_user := session_user;
        RETURN NEW;
    END
    $$;

-- A write by an admin login (a member of pgtenant_admin that is not a
-- superuser) queues a deferred check (db/policies/95_admin_audit.sql puts
-- the constraint trigger on every table) that, at COMMIT, demands an audit
-- row of the same transaction. Runtime-role writes skip the queue (the WHEN
-- condition is evaluated at write time). current_user, not a setting: the
-- admin role cannot make itself look like someone else.
CREATE OR REPLACE FUNCTION app.audited_writer() RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT pg_catalog.pg_has_role(current_user, 'pgtenant_admin', 'MEMBER')
                 AND NOT pg_catalog.current_setting('is_superuser')::boolean $$;

-- Runs as the committing admin role (BYPASSRLS, SELECT on audit_log).
CREATE OR REPLACE FUNCTION app.require_audit_row() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        IF NOT EXISTS (SELECT FROM public.audit_log a WHERE a.xact = pg_current_xact_id()::text::bigint) THEN
            RAISE EXCEPTION 'admin write to % without an audit row in the same transaction', TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'use txscope.Admin (or insert the audit_log row in this transaction)';
        END IF;
        RETURN NULL;
    END
    $$;

-- app.keep_a_partner() keeps at least one Partner in a tenant (issue 12):
-- the trigger memberships_keep_a_partner (30_memberships.sql) runs it after
-- a membership row that was a partner's is deleted, demoted or moved. A
-- tenant used to lose every Partner when its only Partner demoted or
-- removed itself, or when two Partners removed each other at the same
-- moment (both 204). It binds the runtime role, whatever the request is
-- (an Owner acting in the tenant excepted); the audited admin scope, the
-- migrating role and superusers are not bound (cascades from a deleted
-- tenant or user run as the table owner). Under concurrency: a
-- transaction-level advisory lock per tenant serializes the checks, and
-- the check, a statement of its own after the lock, sees what the
-- transactions before it committed (READ COMMITTED): of two Partners
-- demoting themselves at once, the second finds none left beside it and
-- is refused (PT003). Two Partners removing each other already wait for
-- each other's membership lock (app.enter) and one of them is cancelled as
-- a deadlock. SECURITY INVOKER: it reads memberships through the caller's
-- policies, which show the tenant in context.
CREATE OR REPLACE FUNCTION app.keep_a_partner() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        IF OLD.role <> 'partner' OR (TG_OP = 'UPDATE' AND NEW.role = 'partner' AND NEW.tenant_id = OLD.tenant_id)
           OR NOT pg_has_role(current_user, 'pgtenant_app', 'MEMBER') OR current_setting('is_superuser')::boolean
           OR app.current_member_role() IS NOT DISTINCT FROM 'owner' THEN
            RETURN NULL;
        END IF;
        PERFORM pg_advisory_xact_lock(72361006, hashtext(OLD.tenant_id::text));
        IF NOT EXISTS (SELECT FROM public.memberships m WHERE m.tenant_id = OLD.tenant_id AND m.role = 'partner') THEN
            RAISE EXCEPTION 'a tenant keeps at least one partner: this would remove its last one'
                USING ERRCODE = 'PT003', HINT = 'make another member a partner first, or ask a platform owner';
        END IF;
        RETURN NULL;
    END
    $$;

-- SECURITY INVOKER (the default): it only changes the row being written.
CREATE OR REPLACE FUNCTION app.touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at + interval '1 microsecond');
        RETURN NEW;
    END
    $$;

-- Drops every policy on a table, so a policy file can recreate its table's
-- policies from scratch (a policy renamed or removed in the file disappears
-- from the database too).
CREATE OR REPLACE FUNCTION app.reset_policies(p_table regclass) RETURNS void
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
