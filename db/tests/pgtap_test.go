// Package tests runs the pgTAP policy tests in this folder (*.sql) with
// pg_prove, against a fresh migrated database, as the runtime role.
//
// pg_prove and the pgTAP extension come from Debian's packages
// postgresql-15-pgtap and libtap-parser-sourcehandler-pgtap-perl. Without
// them the tests skip with a message saying so, unless
// PGTENANT_REQUIRE_PGTAP=1 (CI sets it), which turns that into a failure.
package tests

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// requirePgTAP skips (or fails, with PGTENANT_REQUIRE_PGTAP=1) when pg_prove
// or the pgtap extension is missing, and returns pg_prove's path.
func requirePgTAP(t *testing.T, d *pgtest.DB) string {
	t.Helper()
	missing := func(what string) {
		pgtest.SkipSuite(t, "pgTAP policy tests (db/tests)", what,
			"apt-get install postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl", "PGTENANT_REQUIRE_PGTAP")
	}
	prove, err := exec.LookPath("pg_prove")
	if err != nil {
		missing("no pg_prove on PATH")
	}
	var available bool
	conn := pgtest.Conn(t, d.SuperURL)
	require.NoError(t, conn.QueryRow(context.Background(),
		"SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgtap')").Scan(&available))
	if !available {
		missing("the server has no pgtap extension")
	}
	return prove
}

// setup returns a migrated database with pgTAP installed (by a superuser:
// the runtime role cannot create extensions) and the fixtures inserted.
// pgTAP keeps its plan and results in temporary tables, so the test's
// runtime login (only) may create them in this database: the guard tests in
// internal/txscope show what TEMP would otherwise allow and that app.enter
// refuses a temporary table shadowing the schema.
func setup(t *testing.T) (*pgtest.DB, string) {
	t.Helper()
	d := pgtest.New(t)
	prove := requirePgTAP(t, d)
	seed, err := os.ReadFile(filepath.Join("fixtures", "seed.sql"))
	require.NoError(t, err)
	fx := d.Fixtures(t)
	fx.Exec(t, "CREATE EXTENSION pgtap")
	fx.Exec(t, string(seed))
	fx.Exec(t, "GRANT TEMPORARY ON DATABASE "+d.Name+" TO "+pgtest.RuntimeRole)
	return d, prove
}

// enterRE finds the app.enter calls of the test files; each names the psql
// variable holding its proof.
var enterRE = regexp.MustCompile(`app\.enter\('([^']*)', '([^']*)', (true|false), :'(\w+)'\)`)

// proofVars returns pg_prove --set arguments with a proof for every
// app.enter call in files, signed with the database's key the way the
// server signs its own: the files run as the runtime role and may only
// enter the contexts the harness hands them proofs for.
func proofVars(t *testing.T, d *pgtest.DB, files []string) []string {
	t.Helper()
	seen := map[string]bool{}
	var args []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range enterRE.FindAllStringSubmatch(string(b), -1) {
			if seen[m[4]] {
				continue
			}
			seen[m[4]] = true
			args = append(args, "--set", m[4]+"="+d.Proof(t, m[1], m[2], m[3] == "true"))
		}
	}
	return args
}

// testFiles returns the pgTAP files in run order, and the number of tests
// they plan in all.
func testFiles(t *testing.T) ([]string, int) {
	t.Helper()
	files, err := filepath.Glob("*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	planRE := regexp.MustCompile(`SELECT plan\((\d+)\)`)
	total := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		m := planRE.FindSubmatch(b)
		require.NotNil(t, m, "%s has no SELECT plan(N)", f)
		n, _ := strconv.Atoi(string(m[1]))
		total += n
	}
	return files, total
}

type proveResult struct {
	exit   int
	output string
	files  int
	tests  int
}

var summaryRE = regexp.MustCompile(`Files=(\d+), Tests=(\d+)`)

// prove runs pg_prove on files as the runtime role: PG* variables from
// RuntimeURL, nothing inherited from the caller's environment.
func prove(t *testing.T, bin string, d *pgtest.DB, files ...string) proveResult {
	t.Helper()
	u, err := url.Parse(d.RuntimeURL)
	require.NoError(t, err)
	pw, _ := u.User.Password()
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"PGHOST="+u.Hostname(), "PGPORT="+u.Port(), "PGUSER="+u.User.Username(), "PGPASSWORD="+pw,
		"PGDATABASE="+strings.TrimPrefix(u.Path, "/"), "PGCONNECT_TIMEOUT=10")
	if mode := u.Query().Get("sslmode"); mode != "" {
		env = append(env, "PGSSLMODE="+mode)
	}
	args := append([]string{"--verbose", "--nocolor"}, proofVars(t, d, files)...)
	cmd := exec.Command(bin, append(args, files...)...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	res := proveResult{output: out.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.exit = exitErr.ExitCode()
	default:
		t.Fatalf("run pg_prove: %v", err)
	}
	if m := summaryRE.FindStringSubmatch(res.output); m != nil {
		res.files, _ = strconv.Atoi(m[1])
		res.tests, _ = strconv.Atoi(m[2])
	}
	return res
}

// TestPgTAP runs every policy test file and checks that pg_prove passed and
// ran every planned test.
func TestPgTAP(t *testing.T) {
	t.Parallel()
	d, bin := setup(t)
	files, planned := testFiles(t)
	res := prove(t, bin, d, files...)
	require.Equal(t, 0, res.exit, res.output)
	require.Contains(t, res.output, "All tests successful.", res.output)
	require.Equal(t, len(files), res.files, res.output)
	require.Equal(t, planned, res.tests, "tests run vs planned:\n%s", res.output)
	require.GreaterOrEqual(t, res.tests, 90, "the suite shrank")
	t.Logf("pg_prove: %d files, %d tests passed as %s", res.files, res.tests, pgtest.RuntimeRole)
}

// TestPgTAPFails proves the tests can fail: each breakage of the policies
// makes pg_prove exit non-zero and report the test that should catch it.
func TestPgTAPFails(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, breakage, file string
		failing              []string
	}{
		{
			name: "projects not forced", breakage: "ALTER TABLE projects NO FORCE ROW LEVEL SECURITY",
			file: "10_catalog.sql", failing: []string{"projects: row-level security forced"},
		},
		{
			name: "tasks isolation policy dropped", breakage: "DROP POLICY tasks_isolation ON tasks",
			file: "10_catalog.sql", failing: []string{"tasks: exactly the expected policies", "tasks: tasks_isolation compares tenant_id"},
		},
		{
			name: "projects rls disabled", breakage: "ALTER TABLE projects DISABLE ROW LEVEL SECURITY",
			file: "20_projects.sql", failing: []string{"no context: no project visible", "alpha partner: sees exactly alpha's projects"},
		},
		{
			name: "tasks policies replaced by an open one", breakage: `DROP POLICY tasks_isolation ON tasks; DROP POLICY tasks_tenant ON tasks;
				CREATE POLICY tasks_open ON tasks USING (true) WITH CHECK (true)`,
			file: "30_tasks.sql", failing: []string{"alpha partner: sees exactly alpha's tasks", "alpha partner: insert into beta refused"},
		},
		{
			name: "comment author check dropped", breakage: `DROP POLICY task_comments_writers_insert ON task_comments;
				CREATE POLICY task_comments_writers_insert ON task_comments AS RESTRICTIVE FOR INSERT
					WITH CHECK ((SELECT app.current_member_role()) IN ('owner', 'partner'))`,
			file: "60_task_comments.sql", failing: []string{"alpha partner: a comment in another member's name refused"},
		},
		{
			name: "memberships read widened", breakage: `CREATE POLICY memberships_all ON memberships FOR SELECT USING (role = 'partner')`,
			file: "40_memberships.sql", failing: []string{"alpha partner: alpha's memberships and its own elsewhere, nothing of beta"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, bin := setup(t)
			d.Fixtures(t).Exec(t, tc.breakage)
			res := prove(t, bin, d, tc.file)
			require.NotEqual(t, 0, res.exit, "pg_prove passed despite: %s\n%s", tc.breakage, res.output)
			for _, name := range tc.failing {
				require.Regexp(t, `(?m)^not ok \d+ - `+regexp.QuoteMeta(name), res.output)
			}
			t.Logf("pg_prove exit %d after %q:\n%s", res.exit, tc.breakage,
				strings.Join(regexp.MustCompile(`(?m)^not ok .*$`).FindAllString(res.output, -1), "\n"))
		})
	}
}
