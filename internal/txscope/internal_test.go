package txscope

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/pgtest"
)

// These tests look inside the pool, which only this package can.

func openInternal(t *testing.T) (*Scope, *pgtest.DB) {
	t.Helper()
	w := pgtest.NewWorld(t)
	s, err := Open(context.Background(), Config{DatabaseURL: w.DB.RuntimeURL, AdminDatabaseURL: w.DB.AdminURL, MaxConns: 1})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, w.DB
}

// TestPooledConnectionCarriesNoContext: with a pool of one, the connection
// that served tenant A, asked afterwards without any context, sees nothing
// and has no setting left.
func TestPooledConnectionCarriesNoContext(t *testing.T) {
	t.Parallel()
	s, _ := openInternal(t)
	ctx := context.Background()
	who := Who{Email: pgtest.AliceEmail, Tenant: pgtest.TenantASlug}
	for _, scope := range []func() error{
		func() error {
			return s.Read(ctx, who, func(tx *Tx) error {
				ps, err := tx.Q.ProjectListFirst(ctx, 10)
				require.Len(t, ps, 1) // positive control
				return err
			})
		},
		func() error {
			return s.Write(ctx, who, func(tx *Tx) error {
				ps, err := tx.Q.ProjectListFirst(ctx, 10)
				require.Len(t, ps, 1)
				return err
			})
		},
	} {
		require.NoError(t, scope())
		c, err := s.pool.Acquire(ctx)
		require.NoError(t, err)
		var n int
		var tenant, user, role string
		err = c.QueryRow(ctx, `SELECT (SELECT count(*) FROM projects), current_setting('app.tenant_id', true),
			current_setting('app.user_id', true), current_setting('app.role', true)`).Scan(&n, &tenant, &user, &role)
		c.Release()
		require.NoError(t, err)
		require.Zero(t, n, "no context, no rows")
		require.Empty(t, tenant)
		require.Empty(t, user)
		require.Empty(t, role)
	}
}

// TestNonIdleConnectionIsDestroyed: a connection left inside a transaction
// is closed, not returned to the pool.
func TestNonIdleConnectionIsDestroyed(t *testing.T) {
	t.Parallel()
	s, _ := openInternal(t)
	ctx := context.Background()
	c, err := s.pool.Acquire(ctx)
	require.NoError(t, err)
	var pid1 uint32
	require.NoError(t, c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid1))
	_, err = c.Exec(ctx, "BEGIN")
	require.NoError(t, err)
	s.release(c, nil, false)

	c, err = s.pool.Acquire(ctx)
	require.NoError(t, err)
	var pid2 uint32
	require.NoError(t, c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid2))
	require.NotEqual(t, pid1, pid2, "a new connection replaced the one left in a transaction")
	require.Equal(t, byte('I'), c.Conn().PgConn().TxStatus())

	// Positive control: an idle connection is reused.
	s.release(c, nil, false)
	c2, err := s.pool.Acquire(ctx)
	require.NoError(t, err)
	var pid3 uint32
	require.NoError(t, c2.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid3))
	c2.Release()
	require.Equal(t, pid2, pid3)
}
