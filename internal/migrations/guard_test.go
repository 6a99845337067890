package migrations_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/migrations"
	"github.com/pgtenant/pgtenant/internal/pgtest"
)

// TestGuardDownUpKeepsAuditNumbering: 0004 moves audit_log's id from an
// identity to a sequence only the owner reaches, and back on down; across a
// down/up cycle with rows in the log (which FORCE hides from the owner), new
// rows keep numbering after the existing ones.
func TestGuardDownUpKeepsAuditNumbering(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	admin := pgtest.Conn(t, d.AdminURL)
	insert := func() int64 {
		var id int64
		require.NoError(t, admin.QueryRow(ctx, `INSERT INTO audit_log (actor_email, actor_role, reason, action)
			VALUES ('ops@x', 'cli', 'test', 'x') RETURNING id`).Scan(&id))
		return id
	}
	first, second := insert(), insert()
	require.Greater(t, second, first)
	r, err := migrations.New(d.OwnerURL)
	require.NoError(t, err)
	_, err = r.Down(ctx, 1)
	require.NoError(t, err)
	third := insert()
	require.Greater(t, third, second, "after down")
	_, err = r.Up(ctx)
	require.NoError(t, err)
	require.Greater(t, insert(), third, "after up again")
}
