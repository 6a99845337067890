package txscope_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// TestPlantedStateThroughPgbouncer: through pgbouncer in transaction mode
// any session of the runtime role shares server connections with the
// server's requests. Twenty such sessions (a leaked DATABASE_URL) each
// hold a transaction, so they sit on twenty different server
// connections, and plant session state there: SET ROLE, a search_path, a
// 1 ms statement_timeout, a read-only default, a SQL-level prepared
// statement and a WITH HOLD cursor. With server_reset_query_always (the
// configuration docs/security.md recommends, and make test-pgbouncer's)
// every later request succeeds with the right rows; without it
// (PGTEST_PGBOUNCER_RESET=0) app.enter refuses the requests that land on a
// tainted server connection (or resets what it can), and none is served
// another tenant's rows either way.
func TestPlantedStateThroughPgbouncer(t *testing.T) {
	t.Parallel()
	if !pgtest.ThroughPgbouncer() {
		t.Skip("runs through pgbouncer only (make test-pgbouncer)")
	}
	b := setup(t)
	ctx := context.Background()
	var planters []func()
	for range 20 {
		c := pgtest.Conn(t, b.db.RuntimeURL)
		tx, err := c.Begin(ctx)
		require.NoError(t, err)
		for _, q := range []string{
			"SET ROLE pgtenant_app", "SET search_path = pg_catalog",
			"SET default_transaction_read_only = on", "PREPARE planted AS SELECT 1",
			"DECLARE planted CURSOR WITH HOLD FOR SELECT 1",
			"SET statement_timeout = 1", // last, so that the planting itself does not time out on a loaded machine
		} {
			_, err := tx.Exec(ctx, q)
			require.NoError(t, err, q)
		}
		planters = append(planters, func() { require.NoError(t, tx.Commit(ctx)) })
	}
	for _, commit := range planters { // all twenty held at once: twenty server connections
		commit()
	}

	failed := 0
	for i := range 120 {
		var err error
		if i%6 == 5 {
			err = b.scope.Write(ctx, whoA(), func(tx *txscope.Tx) error {
				_, err := tx.Q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: "through-pgbouncer-" + string(rune('a'+i%26)) + string(rune('0'+i/26))})
				return err
			})
		} else {
			var got []dbgen.Project
			err = b.scope.Read(ctx, whoA(), func(tx *txscope.Tx) error {
				got, err = tx.Q.ProjectListFirst(ctx, 100)
				return err
			})
			if err == nil {
				require.Contains(t, projectNames(got), "Apollo", "positive control")
				require.NotContains(t, projectNames(got), "Borealis", "tenant B's row")
				for _, p := range got {
					require.Equal(t, b.tenantA, p.TenantID)
				}
			}
		}
		if err != nil {
			failed++
			require.True(t, errors.Is(err, txscope.ErrTaintedSession) || errors.Is(err, txscope.ErrUnavailable),
				"a refusal (503), never another outcome: %v", err)
		}
	}
	t.Logf("%d of 120 requests after the planting failed (server_reset_query_always %s)", failed, map[bool]string{true: "on", false: "off"}[os.Getenv(pgtest.PgbouncerResetEnv) != "0"])
	if os.Getenv(pgtest.PgbouncerResetEnv) != "0" {
		require.Zero(t, failed, "pgbouncer reset every server connection after the planting transactions")
	}
}
