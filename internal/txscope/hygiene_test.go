package txscope

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/pgtest"
)

// Session hygiene: whatever ran on a pooled connection between two
// requests (an injected statement, or through pgbouncer any session of the
// runtime role) cannot carry objects or settings into the next request.
// app.enter resets what it can (RESET ALL) and refuses what it cannot
// (PT002); txscope then destroys the connection. These tests plant state on
// the single connection of a pool, as the runtime role, and send the next
// request through it.

// plant runs sql on the pool's one connection, returns it to the pool, and
// reports that connection's backend pid.
func plant(t *testing.T, s *Scope, sql ...string) uint32 {
	t.Helper()
	ctx := context.Background()
	c, err := s.pool.Acquire(ctx)
	require.NoError(t, err)
	defer c.Release()
	// The pid first: after a planted 1 ms statement_timeout, any statement
	// on a loaded machine may time out.
	var pid uint32
	require.NoError(t, c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid))
	for _, q := range sql {
		_, err := c.Exec(ctx, q)
		require.NoError(t, err, q)
	}
	return pid
}

func pooledPID(t *testing.T, s *Scope) uint32 {
	t.Helper()
	ctx := context.Background()
	c, err := s.pool.Acquire(ctx)
	require.NoError(t, err)
	defer c.Release()
	var pid uint32
	require.NoError(t, c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid))
	return pid
}

func readProjects(s *Scope) ([]string, error) {
	ctx := context.Background()
	var names []string
	err := s.Read(ctx, Who{Email: "alice@a.example", Tenant: "tenant-a"}, func(tx *Tx) error {
		ps, err := tx.Q.ProjectListFirst(ctx, 10)
		for _, p := range ps {
			names = append(names, p.Name)
		}
		return err
	})
	return names, err
}

// TestPlantedSettingsAreReset: session-level settings that would break or
// redirect the next request (search_path, row_security, a timeout, a
// read-only default, a stash in a custom setting), a stray SQL-level
// prepared statement and a WITH HOLD cursor are gone by the time the
// request's statement runs, and after it; the connection stays pooled.
func TestPlantedSettingsAreReset(t *testing.T) {
	t.Parallel()
	s, _ := openInternal(t)
	ctx := context.Background()
	names, err := readProjects(s) // positive control; pgx prepares the statement
	require.NoError(t, err)
	require.Equal(t, []string{"Apollo"}, names)
	pid := plant(t, s,
		"SET search_path = pg_catalog", // `projects` would not resolve
		"SET row_security = off",       // RLS would raise instead of filtering
		"SET default_transaction_read_only = on",
		"SELECT set_config('app.stash', 'planted', false)",
		"SET statement_timeout = 1", // every statement would time out (planted last, so the planting does not)
	)
	names, err = readProjects(s)
	require.NoError(t, err)
	require.Equal(t, []string{"Apollo"}, names)
	require.NoError(t, s.Write(ctx, Who{Email: "alice@a.example", Tenant: "tenant-a"}, func(tx *Tx) error {
		return nil
	}))
	require.Equal(t, pid, pooledPID(t, s), "a reset connection stays in the pool")

	c, err := s.pool.Acquire(ctx)
	require.NoError(t, err)
	defer c.Release()
	var path, rls, stash string
	var prepared, cursors int
	require.NoError(t, c.QueryRow(ctx, `SELECT current_setting('search_path'), current_setting('row_security'), current_setting('app.stash', true),
		(SELECT count(*) FROM pg_prepared_statements WHERE from_sql), (SELECT count(*) FROM pg_cursors WHERE is_holdable)`).Scan(&path, &rls, &stash, &prepared, &cursors))
	require.Equal(t, `"$user", public`, path)
	require.Equal(t, "on", rls)
	require.Empty(t, stash)
	require.Zero(t, prepared, "planted statements deallocated")
	require.Zero(t, cursors, "planted cursors closed")
}

// TestPlantedSearchPathBeforePrepare: pgx parses a statement it has not
// prepared on this connection before the batch (and app.enter's reset)
// runs, so a planted search_path fails that attempt; the connection is
// destroyed and the scope runs again on a clean one: the request works.
func TestPlantedSearchPathBeforePrepare(t *testing.T) {
	t.Parallel()
	pgtest.SkipThroughPgbouncer(t, "pgx prepares nothing in exec mode, and each planted setting is discarded with its transaction (TestPlantedStateThroughPgbouncer)")
	s, _ := openInternal(t)
	pid := plant(t, s, "SET search_path = pg_catalog")
	names, err := readProjects(s)
	require.NoError(t, err)
	require.Equal(t, []string{"Apollo"}, names)
	require.NotEqual(t, pid, pooledPID(t, s), "the connection was destroyed")
}

// TestPlantedTimeout: a planted statement_timeout of 1 ms is armed when
// app.enter's statement starts, before its RESET ALL runs: that attempt may
// time out, and then the connection is destroyed and the scope runs again
// on a clean one. The request works either way.
func TestPlantedTimeout(t *testing.T) {
	t.Parallel()
	pgtest.SkipThroughPgbouncer(t, "the planted timeouts are discarded with their transaction (TestPlantedStateThroughPgbouncer)")
	s, _ := openInternal(t)
	plant(t, s, "SET statement_timeout = 1", "SET lock_timeout = 1")
	for range 2 {
		names, err := readProjects(s)
		require.NoError(t, err)
		require.Equal(t, []string{"Apollo"}, names)
	}
}

// TestPlantedStateIsRefused: state the next request must not run with is
// refused on that connection, which is destroyed; the scope runs again on a
// fresh one, so the request works and nothing planted ran. The positive
// control is the first request of each case.
func TestPlantedStateIsRefused(t *testing.T) {
	t.Parallel()
	pgtest.SkipThroughPgbouncer(t, "planted state is discarded with its transaction (TestPlantedStateThroughPgbouncer); destroying the client connection would not close the server one")
	for name, sql := range map[string][]string{
		// RESET ALL does not reset the role (RESET ROLE does), and a
		// SECURITY DEFINER function may not: app.enter refuses (PT002).
		"set role": {"SET ROLE pgtenant_app"},
		// A SQL-level PREPARE under the name pgx gave ProjectListFirst: the
		// request would run the planted statement (which mails each row's
		// name out with pg_notify) in its own context. app.enter drops it;
		// pgx's Bind then finds no statement: the request fails, nothing
		// ran, the connection is replaced.
		"hijacked prepared statement": {`DO $$ DECLARE n text; BEGIN
			SELECT name INTO STRICT n FROM pg_prepared_statements WHERE statement LIKE '%FROM projects%ORDER BY created_at, id%LIMIT%';
			EXECUTE format('DEALLOCATE %I', n);
			EXECUTE format('PREPARE %I(int) AS SELECT tenant_id, id, name, description, created_at, updated_at FROM projects WHERE pg_notify(''exfil'', name) IS NULL LIMIT $1', n);
			END $$`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, db := openInternal(t)
			names, err := readProjects(s) // positive control, and warms pgx's statement cache
			require.NoError(t, err)
			require.Equal(t, []string{"Apollo"}, names)

			listener := pgtest.Conn(t, db.RuntimeURL)
			_, err = listener.Exec(context.Background(), "LISTEN exfil")
			require.NoError(t, err)
			pid := plant(t, s, sql...)
			names, err = readProjects(s)
			require.NoError(t, err)
			require.Equal(t, []string{"Apollo"}, names)
			wctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			n, werr := listener.WaitForNotification(wctx)
			cancel()
			require.Error(t, werr, "the planted statement ran and sent %v", n)
			require.NotEqual(t, pid, pooledPID(t, s), "the tainted connection was destroyed")
		})
	}
}

// TestTempShadowing: a temporary table named like a tenant table is searched
// before public when pg_temp is not on the search_path. The runtime role
// cannot create one (TEMP is revoked); granted TEMP by mistake (the
// control), it can, and app.enter refuses the next request on that
// connection (which is destroyed; the request runs again on a clean one).
func TestTempShadowing(t *testing.T) {
	t.Parallel()
	pgtest.SkipThroughPgbouncer(t, "a temporary table is discarded with the transaction that made it (TestPlantedStateThroughPgbouncer)")
	s, db := openInternal(t)
	ctx := context.Background()
	c, err := s.pool.Acquire(ctx)
	require.NoError(t, err)
	_, err = c.Exec(ctx, "CREATE TEMP TABLE projects (tenant_id uuid, id uuid, name text, description text, created_at timestamptz, updated_at timestamptz)")
	c.Release()
	require.Error(t, err)
	require.Contains(t, err.Error(), "permission denied to create temporary tables")

	db.Fixtures(t).Exec(t, "GRANT TEMPORARY ON DATABASE "+db.Name+" TO pgtenant_test_api")
	pid := plant(t, s,
		`CREATE TEMP TABLE projects (tenant_id uuid, id uuid, name text, description text, created_at timestamptz, updated_at timestamptz)`,
		`INSERT INTO projects VALUES (gen_random_uuid(), gen_random_uuid(), 'shadow', '', now(), now())`)
	names, err := readProjects(s)
	require.NoError(t, err)
	require.Equal(t, []string{"Apollo"}, names, "the real table, not the shadow")
	require.NotEqual(t, pid, pooledPID(t, s), "the shadowed connection was destroyed")
}

// TestPagesUseTheGenericPlan: every tenant transaction runs with
// plan_cache_mode = force_generic_plan (enterSQL), so a page query, whose
// LIMIT parameter otherwise earns it a custom plan planned again on every
// execution, is planned once per connection (issue 14). The control: the
// same kind of statement outside a scope, on the same connection, is
// planned every time (custom plans) under the default setting; and the
// setting ends with the scope's transaction.
func TestPagesUseTheGenericPlan(t *testing.T) {
	t.Parallel()
	pgtest.SkipThroughPgbouncer(t, "in exec mode pgx prepares nothing: every statement is planned where it runs, and there is no cached plan to count")
	s, _ := openInternal(t)
	ctx := context.Background()
	for i := 0; i < 12; i++ {
		names, err := readProjects(s)
		require.NoError(t, err)
		require.Equal(t, []string{"Apollo"}, names)
	}
	c, err := s.pool.Acquire(ctx)
	require.NoError(t, err)
	defer c.Release()
	var generic, custom int64
	require.NoError(t, c.QueryRow(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements
		WHERE statement LIKE '%name: ProjectListFirst %'`).Scan(&generic, &custom))
	require.GreaterOrEqual(t, generic, int64(12), "the page ran on the generic plan")
	require.Zero(t, custom, "no custom plan for the page in a scope")

	var mode string
	require.NoError(t, c.QueryRow(ctx, "SELECT current_setting('plan_cache_mode')").Scan(&mode))
	require.Equal(t, "auto", mode, "the setting ends with the scope's transaction")
	const bare = "SELECT relname FROM pg_class ORDER BY oid LIMIT $1 -- control"
	for i := 0; i < 12; i++ {
		rows, err := c.Query(ctx, bare, 5)
		require.NoError(t, err)
		rows.Close()
		require.NoError(t, rows.Err())
	}
	require.NoError(t, c.QueryRow(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements
		WHERE statement = $1`, bare).Scan(&generic, &custom))
	require.Equal(t, int64(12), custom, "control: with the default setting a LIMIT $1 query is planned on every execution")
}
