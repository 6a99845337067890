package rlscheck_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/migrations"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/rlscheck"
)

// Fixed ids of the two tenants the weakening tests seed, so the fixtures in
// testdata/weakenings can name them.
const (
	alphaID = "00000000-0000-0000-0000-0000000000a1"
	betaID  = "00000000-0000-0000-0000-0000000000b2"
)

// probe performs the attack a weakening opens, with raw SQL: a query that
// returns a count, 0 (or an error) on the committed schema and more after
// the weakening.
type probe struct {
	// as: "runtime" (the API's role) or "super" (audit_log's triggers
	// bind even superusers; the probe shows they no longer do).
	as string
	// enter: inside a transaction that entered tenant alpha as its partner
	// alice, through app.enter as the API does.
	enter bool
	query string
}

// weakening is a change an attacker or a careless operator makes as the
// schema owner: testdata/weakenings/NAME.sql. The old rls-check (before
// expression trees and drift, commit 9313713) exited 0 on every one of
// them; docs/inspection.md has the run.
type weakening struct {
	name    string
	asSuper bool // applied as a superuser (see the fixture's comment)
	want    map[string][]string
	probe   *probe
	// guarded: the sealed context (migration 0004) already makes the
	// weakening harmless, so its probe finds nothing after it either; the
	// rules report it all the same (defence in depth).
	guarded bool
	// undetected: `migrate status` does not see it (a column default is
	// schema, which neither the fingerprint nor the expectation covers);
	// rls-check does.
	undetected bool
	// remains: what rls-check still reports after `migrate up`, which
	// repairs what the project owns (policies, functions, triggers, RLS
	// flags, grants) but does not drop objects someone added.
	remains map[string][]string
}

const otherTenantsProjects = `SELECT count(*) FROM projects WHERE tenant_id <> app.current_tenant_id()`

func weakenings() []weakening {
	tenantsAll := &probe{as: "runtime", query: `SELECT count(*) FROM tenants`}
	usersAll := &probe{as: "runtime", query: `SELECT count(*) FROM users`}
	projectsIsolation := map[string][]string{
		"isolation_predicate_form":     {"policy projects_isolation on public.projects"},
		"tenant_isolation_restrictive": {"table public.projects"},
		"policy_drift":                 {"policy projects_isolation on public.projects", "policy projects_tenant on public.projects"},
	}
	with := func(base map[string][]string, more map[string][]string) map[string][]string {
		out := map[string][]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range more {
			out[k] = v
		}
		return out
	}
	return []weakening{
		// The seven rows of issue 11.
		{name: "issue1a_tenants_one_equals_one", probe: tenantsAll, want: map[string][]string{
			"policy_always_true": {"policy tenants_all on public.tenants"},
			"policy_drift":       {"policy tenants_all on public.tenants"},
		}},
		{name: "issue1b_users_self_comparison", probe: usersAll, want: map[string][]string{
			"policy_always_true": {"policy users_all on public.users"},
			"policy_drift":       {"policy users_all on public.users"},
		}},
		{name: "issue1c_users_coalesce_true", probe: usersAll, want: map[string][]string{
			"policy_always_true": {"policy users_all on public.users"},
			"policy_drift":       {"policy users_all on public.users"},
		}},
		{name: "issue1d_tenants_not_false", probe: tenantsAll, want: map[string][]string{
			"policy_always_true": {"policy tenants_all on public.tenants"},
			"policy_drift":       {"policy tenants_all on public.tenants"},
		}},
		{name: "issue2_projects_or_branch", probe: &probe{as: "runtime", enter: true, query: otherTenantsProjects},
			want: with(projectsIsolation, map[string][]string{
				// length(name) > 0 admits rows without a context too.
				"policy_null_escape": {"policy projects_isolation on public.projects", "policy projects_tenant on public.projects"},
			})},
		{name: "issue3_definer_in_public", probe: &probe{as: "runtime", query: `SELECT count(*) FROM public.all_users()`},
			want: map[string][]string{"security_definer_uncommitted": {"function public.all_users()"}}},
		{name: "issue4_users_rls_disabled", probe: usersAll, want: map[string][]string{
			"runtime_relation_rls": {"table public.users"},
			"relation_drift":       {"table public.users"},
		}},
		{name: "issue5_is_owner_returns_true", probe: tenantsAll, want: map[string][]string{
			"function_drift": {"function app.current_is_owner()"},
		}},
		{name: "issue6_audit_triggers_dropped",
			probe: &probe{as: "super", query: `WITH u AS (UPDATE audit_log SET reason = 'edited' RETURNING 1) SELECT count(*) FROM u`},
			want: map[string][]string{"trigger_drift": {
				"trigger audit_log_no_truncate on public.audit_log", "trigger audit_log_no_update_delete on public.audit_log",
			}}},
		{name: "issue7_org_keyed_table", probe: &probe{as: "runtime", query: `SELECT count(*) FROM org_notes`},
			want: map[string][]string{
				"runtime_relation_rls": {"table public.org_notes"},
				"relation_drift":       {"table public.org_notes"},
			}},

		// Weakenings of our own, each missed by the old rules.
		{name: "own01_or_true", probe: &probe{as: "runtime", enter: true, query: otherTenantsProjects},
			want: with(projectsIsolation, map[string][]string{
				"policy_always_true": {"policy projects_isolation on public.projects", "policy projects_tenant on public.projects"},
			})},
		{name: "own02_coalesce_escape", probe: &probe{as: "runtime", query: `SELECT count(*) FROM projects`},
			want: with(projectsIsolation, map[string][]string{
				"policy_null_escape": {"policy projects_isolation on public.projects", "policy projects_tenant on public.projects"},
				// projects_tenant's WITH CHECK still reads the unchecked
				// app.claimed_tenant_id(), which the weakened isolation no
				// longer narrows.
				"policy_reads_unsealed_setting": {"policy projects_tenant on public.projects"},
			})},
		{name: "own03_registry_policy_to_public", probe: tenantsAll, want: map[string][]string{
			"policy_context_free": {"policy tenants_active on public.tenants"},
			"policy_drift":        {"policy tenants_active on public.tenants"},
		}},
		{name: "own04_policy_reads_setting", want: map[string][]string{
			"policy_reads_setting":          {"policy tasks_isolation on public.tasks", "policy tasks_tenant on public.tasks"},
			"policy_reads_unsealed_setting": {"policy tasks_isolation on public.tasks", "policy tasks_tenant on public.tasks"},
			"isolation_predicate_form":      {"policy tasks_isolation on public.tasks"},
			"tenant_isolation_restrictive":  {"table public.tasks"},
			"policy_drift":                  {"policy tasks_isolation on public.tasks", "policy tasks_tenant on public.tasks"},
		}},
		{name: "own05_default_sets_context", guarded: true, undetected: true,
			remains: map[string][]string{"context_set_outside_gate": {"column public.projects.description default"}},
			probe: &probe{as: "runtime", enter: true,
				query: `WITH i AS (INSERT INTO projects (tenant_id, name) VALUES ('` + betaID + `', 'smuggled') RETURNING 1) SELECT count(*) FROM i`},
			want: map[string][]string{"context_set_outside_gate": {"column public.projects.description default"}}},
		{name: "own06_audit_trigger_disabled",
			probe: &probe{as: "super", query: `WITH u AS (UPDATE audit_log SET reason = 'edited' RETURNING 1) SELECT count(*) FROM u`},
			want:  map[string][]string{"trigger_drift": {"trigger audit_log_no_update_delete on public.audit_log"}}},
		{name: "own07_lookalike_operator", probe: &probe{as: "runtime", enter: true, query: otherTenantsProjects},
			want: with(projectsIsolation, map[string][]string{
				"policy_null_escape": {"policy projects_isolation on public.projects", "policy projects_tenant on public.projects"},
			})},
		{name: "own08_org_keyed_not_forced",
			// up revokes the runtime role's grant; the table stays as it is.
			remains: map[string][]string{"tenant_rls_forced": {"table public.org_docs"}},
			want: map[string][]string{
				"tenant_rls_forced": {"table public.org_docs"},
				"relation_drift":    {"table public.org_docs"},
				"policy_drift":      {"policy org_docs_isolation on public.org_docs"},
			}},
		{name: "own09_function_sets_context", asSuper: true, guarded: true,
			remains: map[string][]string{"context_set_outside_gate": {"function public.beta_projects()"}},
			probe:   &probe{as: "runtime", query: `SELECT count(*) FROM public.beta_projects()`},
			want:    map[string][]string{"context_set_outside_gate": {"function public.beta_projects()"}}},
		{name: "own10_memberships_read_widened", probe: &probe{as: "runtime", query: `SELECT count(*) FROM memberships`},
			want: map[string][]string{
				"policy_always_true":           {"policy memberships_read on public.memberships"},
				"tenant_isolation_restrictive": {"table public.memberships"},
				"policy_drift":                 {"policy memberships_read on public.memberships"},
			}},
		{name: "own11_viewer_may_delete", want: map[string][]string{
			"policy_drift": {"policy projects_writers_delete on public.projects"},
		}},
	}
}

// seedTenants gives the database two tenants with a partner and a project
// each, and one audit row.
func seedTenants(t *testing.T, d *pgtest.DB) {
	fx := d.Fixtures(t)
	fx.Exec(t, `INSERT INTO tenants (id, slug, name) VALUES ($1, 'alpha', 'Alpha'), ($2, 'beta', 'Beta')`, alphaID, betaID)
	alice, bob := fx.User(t, "alice@alpha.test"), fx.User(t, "bob@beta.test")
	for _, m := range []struct{ tenant, user any }{{alphaID, alice}, {betaID, bob}} {
		fx.Exec(t, `INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'partner')`, m.tenant, m.user)
		fx.Exec(t, `INSERT INTO projects (tenant_id, name) VALUES ($1, 'roadmap')`, m.tenant)
	}
	fx.Exec(t, `INSERT INTO audit_log (actor_email, actor_role, reason, action) VALUES ('ops@pgtenant.test', 'owner', 'seed', 'seed')`)
}

// runProbe returns the probe's count, or the error the database raised.
func runProbe(t *testing.T, d *pgtest.DB, p *probe) (int, error) {
	ctx := context.Background()
	url := d.RuntimeURL
	if p.as == "super" {
		url = d.SuperURL
	}
	conn := pgtest.Conn(t, url)
	var n int
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if p.enter {
			var tenant *string
			proof := d.Proof(t, "alice@alpha.test", "alpha", false)
			if err := tx.QueryRow(ctx, `SELECT tenant_id::text FROM app.enter('alice@alpha.test', 'alpha', false, $1)`, proof).Scan(&tenant); err != nil {
				return err
			}
			require.NotNil(t, tenant, "alice enters alpha")
		}
		return tx.QueryRow(ctx, p.query).Scan(&n)
	})
	return n, err
}

func readWeakening(t *testing.T, name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", "weakenings", name+".sql"))
	require.NoError(t, err)
	return string(b)
}

// TestWeakenings applies each weakening as the schema owner to a migrated,
// seeded database; performs the attack it opens as the runtime role (a
// denial before, a leak after: the positive control that the weakening is
// real); and requires rls-check, run as the runtime role against the
// committed expectation, to report exactly the findings listed.
func TestWeakenings(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "weakenings", "*.sql"))
	require.NoError(t, err)
	cases := weakenings()
	require.Len(t, cases, len(files), "one case per file in testdata/weakenings")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := pgtest.New(t)
			seedTenants(t, d)
			if tc.probe != nil {
				n, err := runProbe(t, d, tc.probe)
				require.True(t, err != nil || n == 0, "before the weakening the probe must find nothing: %d rows", n)
			}

			url := d.OwnerURL
			if tc.asSuper {
				url = d.SuperURL
			}
			_, err := pgtest.Conn(t, url).Exec(ctx, readWeakening(t, tc.name))
			require.NoError(t, err)

			if tc.probe != nil {
				n, err := runProbe(t, d, tc.probe)
				if tc.guarded {
					require.True(t, err != nil || n == 0, "the sealed context keeps the weakening harmless: %d rows", n)
				} else {
					require.NoError(t, err, "the weakening opens the probe")
					require.Positive(t, n, "the weakening leaks")
				}
			}

			rep, err := rlscheck.CheckURL(ctx, d.RuntimeURL, testOpts())
			require.NoError(t, err)
			require.False(t, rep.Clean())
			got := map[string][]string{}
			for _, f := range rep.Findings {
				if !slices.Contains(got[f.Rule], f.Object) {
					got[f.Rule] = append(got[f.Rule], f.Object)
				}
			}
			for _, objs := range got {
				sort.Strings(objs)
			}
			require.Equal(t, tc.want, got, "findings:%s", findingsText(rep))

			// `migrate status` sees it, as the owner (a deploy gate) and as
			// the runtime role (the server's self-check, which turns tenant
			// routes to 503)...
			r, err := migrations.New(d.OwnerURL)
			require.NoError(t, err)
			for _, url := range []string{d.OwnerURL, d.RuntimeURL} {
				st, err := migrations.ReadStatus(ctx, pgtest.Conn(t, url))
				require.NoError(t, err)
				require.Equal(t, tc.undetected, st.UpToDate(), "status: %s", st.Problem())
			}
			// ...and `migrate up` repairs what the project owns: the attack
			// is closed again, and rls-check is clean but for what up does
			// not remove.
			res, err := r.Up(ctx)
			require.NoError(t, err)
			require.Empty(t, res.Drift)
			st, err := r.Status(ctx)
			require.NoError(t, err)
			require.True(t, st.UpToDate(), st.Problem())
			if tc.probe != nil {
				n, err := runProbe(t, d, tc.probe)
				require.True(t, err != nil || n == 0, "after migrate up the probe finds nothing again: %d rows", n)
			}
			rep, err = rlscheck.CheckURL(ctx, d.RuntimeURL, testOpts())
			require.NoError(t, err)
			got = map[string][]string{}
			for _, f := range rep.Findings {
				got[f.Rule] = append(got[f.Rule], f.Object)
			}
			if tc.remains == nil {
				tc.remains = map[string][]string{}
			}
			require.Equal(t, tc.remains, got, "after migrate up:%s", findingsText(rep))
		})
	}
}
