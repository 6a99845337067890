# Inspection: look at the database the way the application does
# (docs/inspection.md). The targets read DATABASE_URL from .devdb/env,
# which `make run` (or `go run ./cmd/devdb start`) writes; without that file,
# from the environment.

INSPECT_ENV ?= .devdb/env
PSQL ?= psql
PSQL_FLAGS ?=
TENANT ?=
USER_EMAIL ?= dev@example.com
PROOF_TTL ?= 8h
TABLE ?=
RLS_CHECK_FLAGS ?=

# inspect_env loads $(INSPECT_ENV) when it exists and requires DATABASE_URL.
define inspect_env
if [ -f "$(abspath $(INSPECT_ENV))" ]; then set -a; . "$(abspath $(INSPECT_ENV))"; set +a; fi; \
if [ -z "$$DATABASE_URL" ]; then echo "no DATABASE_URL: run 'make run' (or 'go run ./cmd/devdb start') first, or export DATABASE_URL" >&2; exit 2; fi
endef

# psql start-up script for `TENANT=... make psql`. app.enter only grants a
# context to a caller holding a proof signed with the context key, which
# the runtime role cannot read: `server context-proof` (through
# ADMIN_DATABASE_URL, audited) prints one for USER_EMAIL in TENANT, valid for
# PROOF_TTL. app.enter sets the tenant context with set_config(..., true):
# transaction-local, gone at COMMIT or ROLLBACK. In psql's default autocommit mode every statement is its own
# transaction, so the context would vanish after the app.enter line itself;
# AUTOCOMMIT off keeps one transaction open from app.enter on, and
# ON_ERROR_ROLLBACK keeps it (and the context) alive after a refused write.
define PSQL_TENANT_RC
\set QUIET on
\set AUTOCOMMIT off
\set ON_ERROR_ROLLBACK on
\set enter 'SELECT * FROM app.enter(' :'email' ', ' :'tenant' ', false, ' :'proof' ');'
\set PROMPT1 '%n@%/ [%:tenant:]%R%x%# '
\set PROMPT2 '%n@%/ [%:tenant:]%R%x%# '
\echo 'runtime role, as' :'email' 'in tenant' :'tenant' '(one open transaction; COMMIT or ROLLBACK ends the context; :enter re-enters)'
\set QUIET off
:enter
\set QUIET on
SELECT app.current_tenant_id() IS NOT NULL AS pgtenant_entered \gset
\if :pgtenant_entered
\else
\echo 'WARNING: no tenant context granted (unknown user, unknown or suspended tenant, or not a member): tenant tables read as empty'
\endif
\set QUIET off
endef
export PSQL_TENANT_RC

# Per table: RLS enabled/forced; then every policy with its command, roles,
# USING and WITH CHECK, straight from pg_class and pg_policy.
define POLICIES_SQL
\pset footer off
\echo 'Row-level security by table (schema public)'
SELECT c.relname AS "table",
       EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
               WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS tenant_table,
       c.relrowsecurity AS rls_enabled,
       c.relforcerowsecurity AS rls_forced,
       (SELECT count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid) AS policies,
       pg_catalog.pg_get_userbyid(c.relowner) AS owner
FROM pg_catalog.pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
  AND (:'table' = '' OR c.relname = :'table')
ORDER BY 1;
\echo 'Policies'
\x on
\pset border 0
SELECT c.relname AS "table",
       p.polname AS policy,
       CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END AS "as",
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
       array_to_string(ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(r)::text END
                             FROM unnest(p.polroles) r), ', ') AS roles,
       pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS "using",
       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS "with check"
FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
WHERE c.relnamespace = 'public'::regnamespace
  AND (:'table' = '' OR c.relname = :'table')
ORDER BY 1, 3 DESC, 2;
endef
export POLICIES_SQL

.PHONY: psql
psql: export PGTENANT_TENANT = $(TENANT)
psql: export PGTENANT_USER_EMAIL = $(USER_EMAIL)
psql: export PGTENANT_PROOF_TTL = $(PROOF_TTL)
psql: ## psql as the runtime role; TENANT=acme [USER_EMAIL=...] opens a transaction in that tenant's context (proof from `server context-proof`)
	@$(inspect_env); \
	if [ -z "$$PGTENANT_TENANT" ]; then \
		echo "psql as the runtime role, no tenant context (tenant tables read as empty; TENANT=slug enters one)"; \
		exec $(PSQL) $(PSQL_FLAGS) "$$DATABASE_URL"; \
	fi; \
	$(MAKE) --no-print-directory build >/dev/null || exit 1; \
	proof=$$("$(BIN)/server" context-proof --email "$$PGTENANT_USER_EMAIL" --tenant "$$PGTENANT_TENANT" --ttl "$$PGTENANT_PROOF_TTL" \
		--reason "make psql: $${USER:-unknown} as $$PGTENANT_USER_EMAIL in $$PGTENANT_TENANT") || exit 1; \
	rc=$$(mktemp); trap 'rm -f "$$rc"' EXIT; \
	printf '%s\n' "$$PSQL_TENANT_RC" > "$$rc"; \
	PSQLRC="$$rc" $(PSQL) $(PSQL_FLAGS) -v tenant="$$PGTENANT_TENANT" -v email="$$PGTENANT_USER_EMAIL" -v proof="$$proof" "$$DATABASE_URL"

.PHONY: policies
policies: export PGTENANT_TABLE = $(TABLE)
policies: ## Print RLS enabled/forced per table and every policy (command, roles, USING, WITH CHECK); TABLE=name filters
	@$(inspect_env); \
	set -o pipefail; printf '%s\n' "$$POLICIES_SQL" | \
		$(PSQL) -X -q -v ON_ERROR_STOP=1 -v table="$$PGTENANT_TABLE" "$$DATABASE_URL" | sed 's/[[:space:]]*$$//'

.PHONY: rls-check
rls-check: build ## Lint the catalogs for tenant-isolation mistakes (server rls-check; RLS_CHECK_FLAGS=--json)
	@$(inspect_env); \
	$(SERVER) rls-check $(RLS_CHECK_FLAGS)
