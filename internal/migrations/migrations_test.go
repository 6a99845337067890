package migrations_test

import (
	"context"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/db"
	"github.com/pgtenant/pgtenant/internal/migrations"
	"github.com/pgtenant/pgtenant/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestEveryUpHasADown(t *testing.T) {
	t.Parallel()
	ups, err := fs.Glob(db.Schema, "schema/*.up.sql")
	require.NoError(t, err)
	require.NotEmpty(t, ups)
	for _, up := range ups {
		_, err := fs.Stat(db.Schema, strings.TrimSuffix(up, ".up.sql")+".down.sql")
		require.NoError(t, err, "%s has no .down.sql", up)
	}
}

func forcedRLS(t *testing.T, url string) int {
	t.Helper()
	conn := pgtest.Conn(t, url)
	var n int
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_class
		WHERE relnamespace = 'public'::regnamespace AND relrowsecurity AND relforcerowsecurity`).Scan(&n))
	return n
}

func TestUpDownUp(t *testing.T) {
	t.Parallel()
	d := pgtest.NewEmpty(t)
	ctx := context.Background()
	r, err := migrations.New(d.OwnerURL)
	require.NoError(t, err)

	st, err := r.Status(ctx)
	require.NoError(t, err)
	require.EqualValues(t, -1, st.Version)
	require.False(t, st.UpToDate())

	res, err := r.Up(ctx)
	require.NoError(t, err)
	latest, _ := migrations.Latest()
	require.Equal(t, latest, res.To)
	files, _ := migrations.Policies()
	require.Len(t, res.PoliciesApplied, len(files))
	st, err = r.Status(ctx)
	require.NoError(t, err)
	require.True(t, st.UpToDate(), st.Problem())
	forced := forcedRLS(t, d.SuperURL)
	require.GreaterOrEqual(t, forced, 4) // memberships, projects, tasks, audit_log

	// Up again: nothing to do.
	res, err = r.Up(ctx)
	require.NoError(t, err)
	require.Empty(t, res.PoliciesApplied)

	// Down to zero: the tables are gone.
	versions, _ := migrations.Versions()
	_, err = r.Down(ctx, len(versions))
	require.NoError(t, err)
	st, err = r.Status(ctx)
	require.NoError(t, err)
	require.EqualValues(t, -1, st.Version)
	require.Zero(t, forcedRLS(t, d.SuperURL))

	// Up again: schema and every policy come back.
	res, err = r.Up(ctx)
	require.NoError(t, err)
	require.Len(t, res.PoliciesApplied, len(files), "policies re-applied after a down/up cycle")
	require.Equal(t, forced, forcedRLS(t, d.SuperURL))
	st, err = r.Status(ctx)
	require.NoError(t, err)
	require.True(t, st.UpToDate(), st.Problem())
}

func TestConcurrentUpAppliesOnce(t *testing.T) {
	t.Parallel()
	d := pgtest.NewEmpty(t)
	ctx := context.Background()
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	applied := make([][]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := migrations.New(d.OwnerURL)
			if err == nil {
				var res migrations.Result
				res, err = r.Up(ctx)
				applied[i] = res.PoliciesApplied
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	total := 0
	for i := range errs {
		require.NoError(t, errs[i])
		total += len(applied[i])
	}
	files, _ := migrations.Policies()
	require.Equal(t, len(files), total, "each policy file applied exactly once across the concurrent runs")
	r, _ := migrations.New(d.OwnerURL)
	st, err := r.Status(ctx)
	require.NoError(t, err)
	require.True(t, st.UpToDate(), st.Problem())
}

func TestChangedPolicyIsDetectedAndReapplied(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t) // migrated
	ctx := context.Background()
	r, err := migrations.New(d.OwnerURL)
	require.NoError(t, err)
	// Pretend the applied 40_projects.sql differs from the embedded one.
	d.Fixtures(t).Exec(t, "UPDATE pgtenant_policy_state SET sha256 = 'old' WHERE file = '40_projects.sql'")
	st, err := r.Status(ctx)
	require.NoError(t, err)
	require.False(t, st.UpToDate())
	require.Contains(t, st.Problem(), "40_projects.sql is changed")

	res, err := r.Up(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"40_projects.sql"}, res.PoliciesApplied, "only the changed file")
	st, err = r.Status(ctx)
	require.NoError(t, err)
	require.True(t, st.UpToDate(), st.Problem())
}

func TestHandEditedPoliciesAreDetectedAndRepaired(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	r, err := migrations.New(d.OwnerURL)
	require.NoError(t, err)
	fx := d.Fixtures(t)
	conn := pgtest.Conn(t, d.SuperURL)
	policies := func() int {
		var n int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_policies WHERE tablename = 'projects' AND policyname = 'projects_isolation'").Scan(&n))
		return n
	}
	require.Equal(t, 1, policies())
	for _, edit := range []string{
		"DROP POLICY projects_isolation ON projects",
		"ALTER TABLE projects NO FORCE ROW LEVEL SECURITY",
		"GRANT TRUNCATE ON projects TO pgtenant_app",
		// What the policies depend on: function attributes and grants,
		// schema grants, grants to a login role directly, triggers.
		"ALTER FUNCTION app.current_is_owner() SECURITY DEFINER",
		"ALTER FUNCTION app.context() RESET search_path",
		"ALTER FUNCTION app.member_add(text, text) SET search_path = public, pg_temp",
		"GRANT EXECUTE ON FUNCTION app.context_keys() TO pgtenant_app",
		"GRANT USAGE ON SCHEMA app_private TO pgtenant_app",
		"GRANT CREATE ON SCHEMA app TO " + pgtest.RuntimeRole,
		"GRANT SELECT ON audit_log TO " + pgtest.RuntimeRole,
		"ALTER TABLE tasks DISABLE TRIGGER tasks_touch",
		"DROP TRIGGER audit_log_stamp ON audit_log",
	} {
		fx.Exec(t, edit)
		st, err := r.Status(ctx)
		require.NoError(t, err)
		require.Contains(t, st.Problem(), "differs", edit)
		require.NotEmpty(t, st.Drift, "named against the embedded expectation: %s", edit)
		files, _ := migrations.Policies()
		res, err := r.Up(ctx)
		require.NoError(t, err)
		require.Empty(t, res.Drift, "repaired: %s", edit)
		require.Len(t, res.PoliciesApplied, len(files), "every file re-applied after %s", edit)
		st, err = r.Status(ctx)
		require.NoError(t, err)
		require.True(t, st.UpToDate(), st.Problem())
		require.Equal(t, 1, policies())
	}
	var forced, truncate bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT relforcerowsecurity, has_table_privilege('pgtenant_app', 'projects', 'TRUNCATE')
		FROM pg_class WHERE relname = 'projects'`).Scan(&forced, &truncate))
	require.True(t, forced)
	require.False(t, truncate)
}

// TestDownUpRestoresFunctionGrants: a down/up cycle recreates functions
// with default privileges (EXECUTE for PUBLIC: 0011 drops and recreates
// app.text_ok, 0002 app.member_add); up must re-apply the grants.
func TestDownUpRestoresFunctionGrants(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	r, err := migrations.New(d.OwnerURL)
	require.NoError(t, err)
	conn := pgtest.Conn(t, d.SuperURL)
	publicCanRun := func() bool {
		var ok bool
		require.NoError(t, conn.QueryRow(ctx, `SELECT has_function_privilege('public', 'app.member_add(text, text)', 'EXECUTE')
			OR has_function_privilege('public', 'app.text_ok(text, boolean, boolean)', 'EXECUTE')`).Scan(&ok))
		return ok
	}
	require.False(t, publicCanRun(), "positive control: revoked after a normal up")
	_, err = r.Down(ctx, downTo(t, 1)) // through 0011 and 0002
	require.NoError(t, err)
	res, err := r.Up(ctx)
	require.NoError(t, err)
	files, _ := migrations.Policies()
	require.Len(t, res.PoliciesApplied, len(files))
	require.False(t, publicCanRun())

	// A grant changed by hand on a function is drift too.
	d.Fixtures(t).Exec(t, "GRANT EXECUTE ON FUNCTION app.member_add(text, text) TO PUBLIC")
	st, err := r.Status(ctx)
	require.NoError(t, err)
	require.Contains(t, st.Problem(), "differs")
	_, err = r.Up(ctx)
	require.NoError(t, err)
	require.False(t, publicCanRun())
}
