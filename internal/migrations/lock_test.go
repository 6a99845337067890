package migrations_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/golang-migrate/migrate/v4/database"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/migrations"
	"github.com/pgtenant/pgtenant/internal/pgtest"
)

// TestLockHeldByRuntimeRoleFailsBounded: pg_advisory_lock is granted to
// PUBLIC, so the runtime role can take migrate's run lock (or the policy
// lock) and hold it. `migrate up` then gives up after LockTimeout, naming
// the holder, instead of waiting forever; once the holder lets go, it runs.
func TestLockHeldByRuntimeRoleFailsBounded(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	r, err := migrations.New(d.OwnerURL)
	require.NoError(t, err)
	r.LockTimeout = 500 * time.Millisecond

	gm, err := database.GenerateAdvisoryLockId("/"+d.Name, "public", "schema_migrations") // as the pgx v5 driver does

	require.NoError(t, err)
	gmKey, err := strconv.ParseInt(gm, 10, 64)
	require.NoError(t, err)
	for name, key := range map[string]int64{"run lock": 7_236_101_005, "policy lock": 7_236_101_004, "golang-migrate's lock": gmKey} {
		attacker := pgtest.Conn(t, d.RuntimeURL+"&application_name=lock-squatter")
		_, err = attacker.Exec(ctx, "SELECT pg_advisory_lock($1)", key)
		require.NoError(t, err, "the runtime role may take any advisory lock")
		var pid int32
		require.NoError(t, attacker.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid))

		if name == "policy lock" {
			// Up with nothing to migrate only takes the policy lock when a
			// policy file changed.
			d.Fixtures(t).Exec(t, "UPDATE pgtenant_policy_state SET sha256 = 'old' WHERE file = '40_projects.sql'")
		}
		start := time.Now()
		_, err = r.Up(ctx)
		took := time.Since(start)
		require.ErrorIs(t, err, migrations.ErrLockTimeout, name)
		t.Logf("%s, after %s: %v", name, took.Round(time.Millisecond), err)
		require.Less(t, took, 10*time.Second, "%s: bounded wait", name)
		for _, want := range []string{"pid " + itoa(pid), pgtest.RuntimeRole, `"lock-squatter"`} {
			require.Contains(t, err.Error(), want, name)
		}

		// Positive control: the holder lets go, the run goes through.
		_, err = attacker.Exec(ctx, "SELECT pg_advisory_unlock($1)", key)
		require.NoError(t, err)
		_, err = r.Up(ctx)
		require.NoError(t, err, name)
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
