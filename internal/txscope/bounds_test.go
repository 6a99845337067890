package txscope_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/limits"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// holdRow locks project id as the superuser until the test ends or the
// returned function runs.
func holdRow(t *testing.T, b *bundle, id any) func() {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.Conn(t, b.db.SuperURL)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", id)
	require.NoError(t, err)
	var once sync.Once
	release := func() { once.Do(func() { _ = tx.Rollback(ctx) }) }
	t.Cleanup(release)
	return release
}

func rename(ctx context.Context, b *bundle) error {
	return b.scope.Write(ctx, whoA(), func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectUpdate(ctx, dbgen.ProjectUpdateParams{ID: b.projectA, Name: new("renamed")})
		return err
	})
}

func refusal(t *testing.T, err error) limits.Reason {
	t.Helper()
	r, ok := limits.RefusalOf(err)
	require.True(t, ok, "a Refusal in %v", err)
	return r.Reason
}

// backendPID is the backend of the scope's pool of one.
func backendPID(t *testing.T, b *bundle) (pid int32) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, b.scope.Read(ctx, whoA(), func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectListFirst(ctx, 1)
		return err
	}))
	conn := pgtest.Conn(t, b.db.SuperURL)
	require.NoError(t, conn.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND usename = $1`, pgtest.RuntimeRole).Scan(&pid))
	return pid
}

// requireKept: the scope's pool of one still holds the backend it had
// (through pgbouncer, which backend serves it is pgbouncer's choice).
func requireKept(t *testing.T, b *bundle, pid int32) {
	t.Helper()
	if !pgtest.ThroughPgbouncer() {
		require.Equal(t, pid, backendPID(t, b), "the connection was kept")
	}
}

// TestLockTimeoutPerTransaction: a write waiting on a locked row ends after
// the scope's lock_timeout (set in the transaction, after app.enter: the
// server's default is to wait forever), as a 503-class refusal, and the
// connection stays pooled: a timeout of the scope's own is no sign of
// planted state. The positive control writes once the lock is gone.
func TestLockTimeoutPerTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *txscope.Config) { c.MaxConns, c.LockTimeout = 1, 200*time.Millisecond })
	pid := backendPID(t, b)
	release := holdRow(t, b, b.projectA)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err := rename(ctx, b)
	require.ErrorIs(t, err, txscope.ErrUnavailable)
	require.Equal(t, limits.LockTimeout, refusal(t, err))
	require.Less(t, time.Since(start), 2*time.Second, "the lock timeout, not the statement timeout (30 s)")
	requireKept(t, b, pid)
	release()
	require.NoError(t, rename(context.Background(), b))
}

// TestStatementTimeoutFollowsTheDeadline: with a lock timeout far away,
// what ends the wait on the server is statement_timeout, which is what
// the request's context has left (or the cap); the scope reports it as
// such, not as the client's own deadline.
func TestStatementTimeoutFollowsTheDeadline(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *txscope.Config) {
		c.MaxConns, c.LockTimeout, c.StatementTimeout = 1, time.Minute, 300*time.Millisecond
	})
	pid := backendPID(t, b)
	holdRow(t, b, b.projectA)
	start := time.Now()
	ctx5, cancel5 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel5()
	err := rename(ctx5, b) // the cap, far below the deadline
	require.Equal(t, limits.StatementTimeout, refusal(t, err))
	require.InDelta(t, 300*time.Millisecond, time.Since(start), float64(250*time.Millisecond))
	requireKept(t, b, pid)

	b2 := setup(t, func(c *txscope.Config) { c.LockTimeout, c.StatementTimeout = time.Minute, time.Minute })
	holdRow(t, b2, b2.projectA)
	// The server-side timeout is what the context has left, a little
	// less than the client's own deadline, so the server cancels first
	// (with a clean error) in most runs; either way the scope is
	// unavailable, quickly.
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = rename(ctx, b2)
	require.ErrorIs(t, err, txscope.ErrUnavailable)
	require.Less(t, time.Since(start), time.Second)
}

// TestReachability: a database that cannot be reached makes a scope fail
// at once with ErrUnavailable (not after its deadline) and Reachable
// report it; the probe sees the return by itself, without a request.
func TestReachability(t *testing.T) {
	t.Parallel()
	w := pgtest.NewWorld(t)
	proxy, url := pgtest.NewProxy(t, w.DB.RuntimeURL)
	s := kit.Scope(t, w.DB, func(c *txscope.Config) { c.DatabaseURL = url })
	ctx := context.Background()
	changes := make(chan error, 10)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go s.Watch(wctx, 100*time.Millisecond, func(err error) { changes <- err })

	read := func() error {
		return s.Read(ctx, whoA(), func(tx *txscope.Tx) error {
			_, err := tx.Q.ProjectListFirst(ctx, 10)
			return err
		})
	}
	require.NoError(t, read())
	require.NoError(t, s.Reachable())

	proxy.Cut()
	start := time.Now()
	var err error
	for err == nil || !errors.Is(s.Reachable(), txscope.ErrUnreachable) { // a pooled connection breaks first, then connects fail
		err = read()
		if err != nil {
			// A connection cut under a statement is unavailable, not
			// an internal error, whatever the driver made of it.
			require.ErrorIs(t, err, txscope.ErrUnavailable)
		}
		require.Less(t, time.Since(start), 3*time.Second)
	}
	require.ErrorIs(t, err, txscope.ErrUnavailable)
	require.Less(t, time.Since(start), time.Second, "fails at once, not after a deadline")
	require.ErrorIs(t, <-changes, txscope.ErrUnreachable)
	err = read()
	require.ErrorIs(t, err, txscope.ErrUnavailable)
	require.Equal(t, limits.DBUnreachable, refusal(t, err))

	require.NoError(t, proxy.Restore())
	select {
	case err := <-changes:
		require.NoError(t, err, "reachable again")
	case <-time.After(3 * time.Second):
		t.Fatal("the probe did not see the database return")
	}
	require.NoError(t, s.Reachable())
	require.NoError(t, read())
}

// TestReadIsBoundedToo: a Read pipeline runs its statement after the
// timeouts statement in the same implicit transaction, so a read that
// waits for a lock (here an ACCESS EXCLUSIVE lock a migration would take)
// ends at the scope's lock_timeout, and the connection stays pooled.
func TestReadIsBoundedToo(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *txscope.Config) { c.MaxConns, c.LockTimeout = 1, 200*time.Millisecond })
	pid := backendPID(t, b) // also prepares the list's statement
	ctx := context.Background()
	conn := pgtest.Conn(t, b.db.SuperURL)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "LOCK TABLE projects IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	err = b.scope.Read(rctx, whoA(), func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectListFirst(rctx, 10)
		return err
	})
	require.Equal(t, limits.LockTimeout, refusal(t, err))
	require.Less(t, time.Since(start), 2*time.Second)
	require.NoError(t, tx.Rollback(ctx))
	requireKept(t, b, pid)
}
