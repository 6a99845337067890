package rlscheck_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/rlscheck"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// testOpts names the harness's login roles, so a test never depends on
// which other members the shared group roles have.
func testOpts() rlscheck.Options {
	return rlscheck.Options{RuntimeRoles: []string{pgtest.RuntimeRole}, AdminRoles: []string{pgtest.AdminRole}}
}

func findingsText(rep rlscheck.Report) string {
	var b strings.Builder
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "\n  %s | %s | %s", f.Rule, f.Object, f.Message)
	}
	return b.String()
}

// TestShippedSchemaIsClean is the positive control of every rule: the
// migrated schema and policies produce no finding, read as the runtime role.
func TestShippedSchemaIsClean(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	rep, err := rlscheck.CheckURL(context.Background(), d.RuntimeURL, testOpts())
	require.NoError(t, err)
	require.True(t, rep.Clean(), "findings on the shipped schema:%s", findingsText(rep))
	require.Equal(t, []string{"public.memberships", "public.projects", "public.task_comments", "public.tasks"}, rep.TenantTables)
	require.Equal(t, pgtest.RuntimeRole, rep.ConnectedAs)
}

// TestDefaultRolesAreTheGroups: with no role named, the lint checks
// pgtenant_app and its login members, and pgtenant_admin's login members.
func TestDefaultRolesAreTheGroups(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	rep, err := rlscheck.CheckURL(context.Background(), d.OwnerURL, rlscheck.Options{})
	require.NoError(t, err)
	require.Contains(t, rep.RuntimeRoles, rlscheck.RuntimeGroup)
	require.Contains(t, rep.RuntimeRoles, pgtest.RuntimeRole)
	require.Contains(t, rep.AdminRoles, pgtest.AdminRole)
	require.NotContains(t, rep.AdminRoles, rlscheck.AdminGroup, "BYPASSRLS is not inherited: the group itself is not checked")
	// Other test binaries sharing a TEST_DATABASE_URL server may add login
	// members of their own; only the harness's roles must be clean here.
	for _, f := range rep.Findings {
		require.NotContains(t, []string{"runtime_role_attributes", "runtime_role_ownership", "runtime_role_privileges", "admin_role_attributes"}, f.Rule,
			"unexpected finding %s on %s: %s", f.Rule, f.Object, f.Message)
	}
}

// tenantTable is a fixture tenant table that passes every rule: tests break
// one thing about it at a time.
func tenantTable(name, body string) string {
	return fmt.Sprintf(`
CREATE TABLE %[1]s (%[2]s);
ALTER TABLE %[1]s ENABLE ROW LEVEL SECURITY;
ALTER TABLE %[1]s FORCE ROW LEVEL SECURITY;
CREATE POLICY %[1]s_tenant ON %[1]s
    USING (tenant_id = (SELECT app.current_tenant_id())) WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));
CREATE POLICY %[1]s_isolation ON %[1]s AS RESTRICTIVE
    USING (tenant_id = (SELECT app.current_tenant_id())) WITH CHECK (tenant_id = (SELECT app.current_tenant_id()));
GRANT SELECT, INSERT, UPDATE, DELETE ON %[1]s TO pgtenant_app;
`, name, body)
}

// ruleCase breaks one rule. In fixture, runtime, admin and want,
// {{role}} is a throwaway role name unique to the test and {{db}} the
// test database.
type ruleCase struct {
	name    string
	rule    string
	fixture string
	runtime []string
	admin   []string
	// want lists the objects the rule must report; also the findings other
	// rules must report on the same fixture (none, mostly). Any other
	// finding fails the test.
	want []string
	also map[string][]string
	// committed: compare with the expectation embedded in the binary (the
	// drift rules' cases). Otherwise the expectation is the catalog as the
	// fixture left it, as if the fixture had been committed to db/: the
	// case shows what the rule catches even then.
	committed bool
}

func ruleCases() []ruleCase {
	return []ruleCase{
		{
			name: "policy reading the setting itself", rule: "policy_reads_unsealed_setting",
			fixture: `CREATE POLICY projects_claimed ON projects AS RESTRICTIVE
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);`,
			want: []string{"policy projects_claimed on public.projects"},
			also: map[string][]string{
				"policy_reads_setting":     {"policy projects_claimed on public.projects"},
				"isolation_predicate_form": {"policy projects_claimed on public.projects"},
			},
		},
		{
			name: "only permissive policy reading the setting itself", rule: "policy_reads_unsealed_setting",
			fixture: tenantTable("notes", "tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id)") + `
DROP POLICY notes_isolation ON notes; DROP POLICY notes_tenant ON notes;
CREATE POLICY notes_claimed ON notes USING (tenant_id = (SELECT app.claimed_tenant_id()));`,
			want: []string{"policy notes_claimed on public.notes"},
			also: map[string][]string{"tenant_isolation_restrictive": {"table public.notes"}},
		},
		{
			name: "runtime login with row_security off", rule: "role_settings",
			fixture: `CREATE ROLE {{role}} LOGIN IN ROLE pgtenant_app;
ALTER ROLE {{role}} SET row_security = off;
ALTER ROLE {{role}} SET statement_timeout = '5s';`,
			runtime: []string{"{{role}}"},
			want:    []string{"role {{role}}"},
		},
		{
			name: "temp granted to the runtime group", rule: "runtime_role_temp",
			fixture: `GRANT TEMPORARY ON DATABASE {{db}} TO pgtenant_app`,
			want:    []string{"database {{db}}"},
		},
		{
			name: "text column with statistics", rule: "tenant_text_statistics",
			fixture: `ALTER TABLE tasks ALTER COLUMN title SET STATISTICS 100`,
			want:    []string{"column public.tasks.title"},
		},
		{
			name: "admin-writable table without the audit trigger", rule: "admin_write_audited",
			fixture: `DROP TRIGGER admin_write_audited ON projects`,
			want:    []string{"table public.projects"},
		},
		{
			name: "compliant extra tenant table, view and definer function", rule: "",
			fixture: tenantTable("notes", `tenant_id uuid NOT NULL DEFAULT app.current_tenant_id() REFERENCES tenants (id),
				id uuid NOT NULL DEFAULT gen_random_uuid(), task_id uuid NOT NULL, body text NOT NULL,
				PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, body),
				FOREIGN KEY (tenant_id, task_id) REFERENCES tasks (tenant_id, id)`) + `
CREATE INDEX notes_task_idx ON notes (task_id, tenant_id);
CREATE VIEW note_bodies WITH (security_invoker = true) AS SELECT tenant_id, body FROM notes;
GRANT SELECT ON note_bodies TO pgtenant_app;
CREATE FUNCTION app.note_count() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS 'SELECT count(*) FROM public.notes';
ALTER TABLE notes ALTER COLUMN body SET STATISTICS 0;`,
		},
		{
			name: "rls not forced", rule: "tenant_rls_forced",
			fixture: `ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY`,
			want:    []string{"table public.tasks"},
		},
		{
			name: "rls disabled", rule: "tenant_rls_forced",
			fixture: `ALTER TABLE projects DISABLE ROW LEVEL SECURITY`,
			want:    []string{"table public.projects"},
		},
		{
			name: "no insert policy", rule: "tenant_policy_coverage",
			fixture: `DROP POLICY memberships_insert ON memberships`,
			want:    []string{"table public.memberships"},
		},
		{
			name: "policies for another role only", rule: "tenant_policy_coverage",
			fixture: tenantTable("notes", "tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id)") + `
DROP POLICY notes_tenant ON notes;
CREATE POLICY notes_admin ON notes TO pgtenant_admin USING (tenant_id = (SELECT app.current_tenant_id()));`,
			want: []string{"table public.notes"},
		},
		{
			name: "using true", rule: "policy_always_true",
			fixture: `CREATE POLICY users_everyone ON users FOR SELECT USING (true)`,
			want:    []string{"policy users_everyone on public.users"},
		},
		{
			name: "with check true", rule: "policy_always_true",
			fixture: `CREATE POLICY projects_any_insert ON projects AS RESTRICTIVE FOR INSERT WITH CHECK (true)`,
			want:    []string{"policy projects_any_insert on public.projects"},
		},
		{
			name: "is null or escape", rule: "policy_null_escape",
			fixture: `DROP POLICY projects_isolation ON projects;
CREATE POLICY projects_isolation ON projects AS RESTRICTIVE
    USING ((SELECT app.current_tenant_id()) IS NULL OR tenant_id = (SELECT app.current_tenant_id()));`,
			want: []string{"policy projects_isolation on public.projects"},
			also: map[string][]string{
				"isolation_predicate_form":      {"policy projects_isolation on public.projects"},
				"policy_reads_unsealed_setting": {"policy projects_tenant on public.projects"},
				"tenant_isolation_restrictive":  {"table public.projects"},
			},
		},
		{
			name: "second permissive select policy", rule: "tenant_isolation_restrictive",
			fixture: `DROP POLICY tasks_isolation ON tasks;
CREATE POLICY tasks_public ON tasks FOR SELECT USING (title LIKE 'public:%');`,
			want: []string{"table public.tasks"}, // SELECT only: INSERT/UPDATE/DELETE keep one permissive policy
			// tasks_tenant names the tenant unchecked; without tasks_isolation nothing seals it.
			also: map[string][]string{
				"policy_context_free":           {"policy tasks_public on public.tasks"},
				"policy_reads_unsealed_setting": {"policy tasks_tenant on public.tasks"},
			},
		},
		{
			name: "second permissive select policy on memberships", rule: "tenant_isolation_restrictive",
			fixture: `CREATE POLICY memberships_partners ON memberships FOR SELECT USING (role = 'partner')`,
			want:    []string{"table public.memberships"},
			also:    map[string][]string{"policy_context_free": {"policy memberships_partners on public.memberships"}},
		},
		{
			name: "only permissive policy has no tenant check", rule: "tenant_isolation_restrictive",
			fixture: tenantTable("notes", "tenant_id uuid NOT NULL, id uuid NOT NULL, open boolean, PRIMARY KEY (tenant_id, id)") + `
DROP POLICY notes_isolation ON notes;
DROP POLICY notes_tenant ON notes;
CREATE POLICY notes_open ON notes USING (open);`,
			want: []string{"table public.notes"}, // one finding per command, same object
			also: map[string][]string{"policy_context_free": {"policy notes_open on public.notes"}},
		},
		{
			name: "restrictive isolation with IS NOT DISTINCT FROM", rule: "isolation_predicate_form",
			fixture: `ALTER POLICY projects_isolation ON projects
    USING (tenant_id IS NOT DISTINCT FROM (SELECT app.current_tenant_id()))
    WITH CHECK (tenant_id IS NOT DISTINCT FROM (SELECT app.current_tenant_id()))`,
			want: []string{"policy projects_isolation on public.projects"},
			// projects_tenant names the tenant unchecked: with the sealed
			// isolation weakened, nothing narrows it any more.
			also: map[string][]string{
				"policy_reads_unsealed_setting": {"policy projects_tenant on public.projects"},
				"tenant_isolation_restrictive":  {"table public.projects"},
			},
		},
		{
			name: "restrictive isolation with a look-alike = operator", rule: "isolation_predicate_form",
			fixture: `CREATE FUNCTION public.uuid_yes(uuid, uuid) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.uuid_yes);
ALTER POLICY tasks_isolation ON tasks USING (tenant_id OPERATOR(public.=) (SELECT app.current_tenant_id()))`,
			want: []string{"policy tasks_isolation on public.tasks"},
			// public.= may return true without a context, too; and
			// tasks_tenant, unchecked, is no longer narrowed.
			also: map[string][]string{
				"policy_null_escape":            {"policy tasks_isolation on public.tasks"},
				"policy_reads_unsealed_setting": {"policy tasks_tenant on public.tasks"},
				"tenant_isolation_restrictive":  {"table public.tasks"},
			},
		},
		{
			name: "registry policy to PUBLIC on a row attribute", rule: "policy_context_free",
			fixture: `CREATE POLICY tenants_active ON tenants FOR SELECT USING (status = 'active')`,
			want:    []string{"policy tenants_active on public.tenants"},
		},
		{
			name: "policy reading the setting directly", rule: "policy_reads_setting",
			fixture: `ALTER POLICY tasks_tenant ON tasks
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)`,
			want: []string{"policy tasks_tenant on public.tasks"},
		},
		{
			name: "column default calling set_config", rule: "context_set_outside_gate",
			fixture: `ALTER TABLE projects ALTER COLUMN description SET DEFAULT set_config('app.tenant_id', '', true)`,
			want:    []string{"column public.projects.description default"},
		},
		{
			name: "trigger function and SET clause writing the context", rule: "context_set_outside_gate",
			fixture: `CREATE FUNCTION public.switch_tenant() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$ BEGIN PERFORM set_config('app.tenant_id', NEW.tenant_id::text, true); RETURN NEW; END $$;
CREATE TRIGGER projects_switch BEFORE INSERT ON projects FOR EACH ROW EXECUTE FUNCTION public.switch_tenant();
CREATE FUNCTION public.some_tenant_projects() RETURNS SETOF projects LANGUAGE sql STABLE
    SET app.tenant_id = '00000000-0000-0000-0000-000000000001' AS 'SELECT * FROM public.projects';`,
			want: []string{"function public.some_tenant_projects()", "function public.switch_tenant()"},
		},
		{
			name: "runtime role reads a table keyed by org_id without RLS", rule: "runtime_relation_rls",
			fixture: `CREATE TABLE org_notes (org_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), body text,
    PRIMARY KEY (org_id, id));
GRANT SELECT, INSERT, UPDATE, DELETE ON org_notes TO pgtenant_app;`,
			want: []string{"table public.org_notes"},
		},
		{
			name: "registry without RLS", rule: "runtime_relation_rls",
			fixture: `ALTER TABLE users DISABLE ROW LEVEL SECURITY`,
			want:    []string{"table public.users"},
		},
		{
			name: "bookkeeping table writable", rule: "runtime_relation_rls",
			fixture: `GRANT INSERT ON schema_migrations TO pgtenant_app`,
			want:    []string{"table public.schema_migrations"},
		},
		{
			name: "registry RLS disabled, against the committed schema", rule: "relation_drift", committed: true,
			fixture: `ALTER TABLE users DISABLE ROW LEVEL SECURITY`,
			want:    []string{"table public.users"},
			also:    map[string][]string{"runtime_relation_rls": {"table public.users"}},
		},
		{
			name: "uncommitted table granted to the runtime role", rule: "relation_drift", committed: true,
			fixture: `CREATE TABLE notes_archive (tenant_id uuid NOT NULL, body text, PRIMARY KEY (tenant_id, body));
ALTER TABLE notes_archive ENABLE ROW LEVEL SECURITY; ALTER TABLE notes_archive FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_archive_isolation ON notes_archive USING (tenant_id = (SELECT app.current_tenant_id()));
GRANT SELECT ON notes_archive TO pgtenant_app; GRANT SELECT ON audit_log TO PUBLIC; REVOKE DELETE ON memberships FROM pgtenant_app`,
			want: []string{"table public.audit_log", "table public.memberships", "table public.notes_archive"},
			also: map[string][]string{
				"policy_drift":           {"policy notes_archive_isolation on public.notes_archive"},
				"tenant_text_statistics": {"column public.notes_archive.body"},
			},
		},
		{
			name: "grant to a login role directly", rule: "relation_drift", committed: true,
			// Neither the runtime role nor a group: only the grants list
			// shows it.
			fixture: `GRANT DELETE ON audit_log TO pgtenant_test_ops`,
			want:    []string{"table public.audit_log"},
		},
		{
			name: "schema privileges widened", rule: "schema_drift", committed: true,
			fixture: `GRANT USAGE ON SCHEMA app_private TO pgtenant_admin; GRANT CREATE ON SCHEMA app TO pgtenant_test_ops`,
			want:    []string{"schema app", "schema app_private"},
		},
		{
			name: "a policy widened where no structural rule looks", rule: "policy_drift", committed: true,
			// Client Viewers may now delete: still restrictive, still no
			// cross-tenant leak, and not what was committed.
			fixture: `ALTER POLICY projects_writers_delete ON projects
    USING ((SELECT app.current_member_role()) IN ('owner', 'partner', 'client_viewer'));
DROP POLICY tasks_writers_insert ON tasks;`,
			want: []string{"policy projects_writers_delete on public.projects", "policy tasks_writers_insert on public.tasks"},
		},
		{
			name: "helper body rewritten", rule: "function_drift", committed: true,
			fixture: `CREATE OR REPLACE FUNCTION app.current_is_owner() RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE SET search_path = pg_catalog, pg_temp
    AS $$ BEGIN RETURN true; END $$;
ALTER FUNCTION app.current_user_id() VOLATILE;
CREATE FUNCTION app.tenant_count() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM public.tenants';
GRANT EXECUTE ON FUNCTION app.context_keys() TO pgtenant_test_api;`,
			want: []string{"function app.context_keys()", "function app.current_is_owner()", "function app.current_user_id()", "function app.tenant_count()"},
		},
		{
			name: "uncommitted security definer in public", rule: "security_definer_uncommitted", committed: true,
			fixture: `CREATE FUNCTION public.all_users() RETURNS SETOF users LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS 'SELECT * FROM public.users';
GRANT EXECUTE ON FUNCTION public.all_users() TO pgtenant_app;`,
			want: []string{"function public.all_users()"},
		},
		{
			name: "append-only triggers dropped and disabled", rule: "trigger_drift", committed: true,
			fixture: `DROP TRIGGER audit_log_no_truncate ON audit_log;
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete;`,
			want: []string{"trigger audit_log_no_truncate on public.audit_log", "trigger audit_log_no_update_delete on public.audit_log"},
		},
		{
			name: "primary key without tenant_id first", rule: "tenant_primary_key",
			fixture: tenantTable("notes", "tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (id, tenant_id)") +
				`CREATE INDEX notes_tenant_idx ON notes (tenant_id);`,
			want: []string{"constraint notes_pkey on public.notes"},
		},
		{
			name: "global unique constraint", rule: "tenant_unique_keys",
			fixture: `ALTER TABLE projects ADD CONSTRAINT projects_global_name_key UNIQUE (name)`,
			want:    []string{"constraint projects_global_name_key on public.projects"},
		},
		{
			name: "unique index not led by tenant_id", rule: "tenant_unique_keys",
			fixture: `CREATE UNIQUE INDEX tasks_title_key ON tasks (lower(title), tenant_id)`,
			want:    []string{"index tasks_title_key on public.tasks"},
		},
		{
			name: "foreign key with tenant_id second", rule: "tenant_foreign_keys",
			fixture: tenantTable("comments", `tenant_id uuid NOT NULL, id uuid NOT NULL, task_id uuid NOT NULL,
				PRIMARY KEY (tenant_id, id),
				CONSTRAINT comments_task_fkey FOREIGN KEY (task_id, tenant_id) REFERENCES tasks (id, tenant_id)`),
			want: []string{"constraint comments_task_fkey on public.comments"},
		},
		{
			name: "single-column foreign key between tenant tables", rule: "tenant_foreign_keys",
			fixture: `CREATE UNIQUE INDEX tasks_id_key ON tasks (id);` + tenantTable("comments", `tenant_id uuid NOT NULL, id uuid NOT NULL, task_id uuid NOT NULL,
				PRIMARY KEY (tenant_id, id), CONSTRAINT comments_task_fkey FOREIGN KEY (task_id) REFERENCES tasks (id)`),
			want: []string{"constraint comments_task_fkey on public.comments"},
			also: map[string][]string{"tenant_unique_keys": {"index tasks_id_key on public.tasks"}}, // needed for the FK
		},
		{
			name: "no index led by tenant_id", rule: "tenant_index",
			fixture: tenantTable("events", "tenant_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT now(), body text") +
				`CREATE INDEX events_at_idx ON events (at, tenant_id); ALTER TABLE events ALTER COLUMN body SET STATISTICS 0;`,
			want: []string{"table public.events"},
		},
		{
			name: "view without security_invoker", rule: "view_security_invoker",
			fixture: `CREATE VIEW project_names AS SELECT tenant_id, name FROM projects;
GRANT SELECT ON project_names TO pgtenant_app;`,
			want: []string{"view public.project_names"},
		},
		{
			name: "materialized view readable by the runtime role", rule: "view_security_invoker",
			fixture: `CREATE MATERIALIZED VIEW task_counts AS SELECT tenant_id, count(*) AS n FROM tasks GROUP BY tenant_id;
GRANT SELECT ON task_counts TO pgtenant_app;`,
			want: []string{"materialized view public.task_counts"},
		},
		{
			name: "security definer without search_path", rule: "security_definer_search_path",
			fixture: `CREATE FUNCTION app.tenant_count() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
    AS 'SELECT count(*) FROM public.tenants'`,
			want: []string{"function app.tenant_count()"},
		},
		{
			name: "security definer with pg_temp searched first", rule: "security_definer_search_path",
			fixture: `CREATE FUNCTION app.tenant_count() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public AS 'SELECT count(*) FROM tenants'`,
			want: []string{"function app.tenant_count()"},
		},
		{
			name: "security definer with a writable schema on its path", rule: "security_definer_search_path",
			fixture: `GRANT CREATE ON SCHEMA app TO pgtenant_app;
CREATE FUNCTION app.tenant_count() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = app, pg_catalog, pg_temp AS 'SELECT count(*) FROM public.tenants'`,
			want: []string{"function app.tenant_count()"},
			also: map[string][]string{"runtime_role_privileges": {"schema app"}},
		},
		{
			name: "leakproof function", rule: "leakproof_function",
			fixture: `CREATE FUNCTION app.same_text(a text, b text) RETURNS boolean LANGUAGE sql IMMUTABLE LEAKPROOF AS 'SELECT a = b'`,
			want:    []string{"function app.same_text(a text, b text)"},
		},
		{
			name: "runtime role with bypassrls", rule: "runtime_role_attributes",
			fixture: `CREATE ROLE {{role}} LOGIN BYPASSRLS`,
			runtime: []string{"{{role}}"},
			want:    []string{"role {{role}}"},
		},
		{
			name: "runtime role is superuser", rule: "runtime_role_attributes",
			fixture: `CREATE ROLE {{role}} LOGIN SUPERUSER`,
			runtime: []string{"{{role}}"},
			want:    []string{"role {{role}}"},
			// A superuser has the privileges of every role, the schema
			// owner's included: app.enter's owner-only memberships_resolve
			// policy then applies to it as a second permissive SELECT policy.
			also: map[string][]string{"tenant_isolation_restrictive": {"table public.memberships"},
				"policy_reads_unsealed_setting": {"policy memberships_resolve on public.memberships"},
				"policy_reads_setting":          {"policy memberships_resolve on public.memberships"}},
		},
		{
			name: "runtime role can become a bypassrls role", rule: "runtime_role_attributes",
			fixture: `CREATE ROLE {{role}}_ops NOLOGIN BYPASSRLS; CREATE ROLE {{role}} LOGIN IN ROLE {{role}}_ops`,
			runtime: []string{"{{role}}"},
			want:    []string{"role {{role}}"},
		},
		{
			name: "runtime group owns a table", rule: "runtime_role_ownership",
			fixture: `CREATE TABLE scratch (id int PRIMARY KEY); ALTER TABLE scratch OWNER TO pgtenant_app`,
			want:    []string{"table public.scratch"},
			also:    map[string][]string{"runtime_relation_rls": {"table public.scratch"}}, // an owner may do anything with it
		},
		{
			name: "runtime group owns a schema", rule: "runtime_role_ownership",
			fixture: `CREATE SCHEMA reports AUTHORIZATION pgtenant_app`,
			want:    []string{"schema reports"},
		},
		{
			name: "runtime privileges truncate trigger create", rule: "runtime_role_privileges",
			fixture: `GRANT TRUNCATE, TRIGGER ON projects TO pgtenant_app;
GRANT REFERENCES (id) ON tasks TO PUBLIC;
GRANT CREATE ON SCHEMA public TO pgtenant_app;
GRANT CREATE ON DATABASE {{db}} TO PUBLIC;`,
			want: []string{"database {{db}}", "schema public", "table public.projects", "table public.tasks"},
		},
		{
			name: "admin role without bypassrls", rule: "admin_role_attributes",
			fixture: `CREATE ROLE {{role}} LOGIN`,
			admin:   []string{"{{role}}"},
			want:    []string{"role {{role}}"},
		},
		{
			name: "admin role is superuser", rule: "admin_role_attributes",
			fixture: `CREATE ROLE {{role}} LOGIN SUPERUSER BYPASSRLS`,
			admin:   []string{"{{role}}"},
			want:    []string{"role {{role}}"},
		},
		{
			name: "reference table with a foreign key to a tenant table", rule: "citus_distributable",
			fixture: `CREATE TABLE featured (slot int PRIMARY KEY, tenant uuid NOT NULL, project uuid NOT NULL,
    CONSTRAINT featured_project_fkey FOREIGN KEY (tenant, project) REFERENCES projects (tenant_id, id))`,
			want: []string{"constraint featured_project_fkey on public.featured"},
		},
		{
			name: "nullable tenant_id", rule: "citus_distributable",
			fixture: tenantTable("events", "tenant_id uuid REFERENCES tenants (id), body text") +
				`CREATE INDEX events_tenant_idx ON events (tenant_id); ALTER TABLE events ALTER COLUMN body SET STATISTICS 0;`,
			want: []string{"table public.events"},
		},
		{
			name: "tenant_id of another type", rule: "citus_distributable",
			fixture: `CREATE TABLE legacy (tenant_id text NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
ALTER TABLE legacy ENABLE ROW LEVEL SECURITY; ALTER TABLE legacy FORCE ROW LEVEL SECURITY;
CREATE POLICY legacy_tenant ON legacy USING (tenant_id = (SELECT app.current_tenant_id())::text);
CREATE POLICY legacy_isolation ON legacy AS RESTRICTIVE USING (tenant_id = (SELECT app.current_tenant_id())::text);`,
			want: []string{"table public.legacy"},
			// The accepted tenant checks compare the key with the helper as
			// they are, with uuid's =: a cast is not one of them.
			also: map[string][]string{
				"tenant_isolation_restrictive": {"table public.legacy"},
				"isolation_predicate_form":     {"policy legacy_isolation on public.legacy"},
			},
		},
		{
			name: "exclusion constraint without tenant_id", rule: "citus_distributable",
			fixture: tenantTable("bookings", `tenant_id uuid NOT NULL, id uuid NOT NULL, during tsrange NOT NULL,
				PRIMARY KEY (tenant_id, id), CONSTRAINT bookings_no_overlap EXCLUDE USING gist (during WITH &&)`),
			want: []string{"constraint bookings_no_overlap on public.bookings"},
		},
	}
}

// TestRules breaks each rule on a fresh migrated database and checks that
// exactly the expected findings appear.
func TestRules(t *testing.T) {
	t.Parallel()
	for _, tc := range ruleCases() {
		name := tc.rule + "/" + tc.name
		if tc.rule == "" {
			name = "control/" + tc.name
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := pgtest.New(t)
			fx := d.Fixtures(t)
			role := "rlsck_" + d.Name
			sub := strings.NewReplacer("{{role}}", role, "{{db}}", d.Name).Replace
			super := pgtest.Conn(t, d.SuperURL)
			t.Cleanup(func() { dropRoles(t, super, role) })
			fx.Exec(t, sub(tc.fixture))

			opts := testOpts()
			if tc.runtime != nil {
				opts.RuntimeRoles = mapStrings(tc.runtime, sub)
			}
			if tc.admin != nil {
				opts.AdminRoles = mapStrings(tc.admin, sub)
			}
			if !tc.committed {
				exp, err := rlscheck.Snapshot(context.Background(), pgtest.Conn(t, d.RuntimeURL), opts.RuntimeRoles)
				require.NoError(t, err)
				opts.Expect = exp
			}
			rep, err := rlscheck.CheckURL(context.Background(), d.RuntimeURL, opts)
			require.NoError(t, err)

			want := map[string][]string{}
			if tc.rule != "" {
				want[tc.rule] = mapStrings(tc.want, sub)
			}
			for r, objs := range tc.also {
				want[r] = mapStrings(objs, sub)
			}
			got := map[string][]string{}
			for _, f := range rep.Findings {
				require.Equal(t, rlscheck.SeverityError, f.Severity)
				require.NotEmpty(t, f.Message)
				require.NotEmpty(t, f.Fix)
				if !slices.Contains(got[f.Rule], f.Object) {
					got[f.Rule] = append(got[f.Rule], f.Object)
				}
			}
			for r := range got {
				sort.Strings(got[r])
			}
			for r := range want {
				sort.Strings(want[r])
			}
			require.Equal(t, want, got, "findings:%s", findingsText(rep))
		})
	}
}

// TestEveryRuleHasACase keeps the rule list and the fixtures in step.
func TestEveryRuleHasACase(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, tc := range ruleCases() {
		covered[tc.rule] = true
	}
	ids := map[string]bool{}
	for _, r := range rlscheck.Rules {
		require.False(t, ids[r.ID], "duplicate rule id %s", r.ID)
		ids[r.ID] = true
		require.True(t, covered[r.ID], "rule %s has no test case", r.ID)
		require.NotEmpty(t, r.Title)
		require.NotEmpty(t, r.Description)
	}
}

func mapStrings(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// dropRoles drops the throwaway roles a case created (roles are
// cluster-wide; the database goes with pgtest's own cleanup, after this).
func dropRoles(t *testing.T, conn *pgx.Conn, prefix string) {
	ctx := context.Background()
	var names []string
	if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(rolname::text ORDER BY rolname DESC), '{}') FROM pg_roles WHERE rolname LIKE $1 || '%'`, prefix).Scan(&names); err != nil {
		t.Logf("list roles: %v", err)
		return
	}
	for _, n := range names {
		if _, err := conn.Exec(ctx, fmt.Sprintf(`DROP OWNED BY %q; DROP ROLE %[1]q`, n)); err != nil {
			t.Logf("drop role %s: %v", n, err)
		}
	}
}
