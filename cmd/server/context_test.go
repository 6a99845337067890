package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/pgtest"
)

// TestContextProofAndKeyRotation: `server context-proof` prints a proof
// the runtime role can enter with (audited); after `server context-key
// rotate --grace 0s` that proof is refused and a new one works.
func TestContextProofAndKeyRotation(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	fx := d.Fixtures(t)
	tenant := fx.Tenant(t, "acme")
	fx.Member(t, tenant, fx.User(t, "ann@acme.example"), "partner")
	fx.Project(t, tenant, "Apollo")
	ctx := context.Background()
	env := map[string]string{"ADMIN_DATABASE_URL": d.AdminURL}

	proof := func() string {
		r := runCmd(ctx, env, "context-proof", "--email", "ann@acme.example", "--tenant", "acme", "--ttl", "10m", "--reason", "ticket 9")
		require.Equal(t, exitOK, r.code, r.stderr)
		return strings.TrimSpace(r.stdout)
	}
	runtime := pgtest.Conn(t, d.RuntimeURL)
	enter := func(p string) (int, error) {
		tx, err := runtime.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "SELECT * FROM app.enter('ann@acme.example', 'acme', false, $1)", p); err != nil {
			return 0, err
		}
		var n int
		require.NoError(t, tx.QueryRow(ctx, "SELECT count(*) FROM projects").Scan(&n))
		return n, nil
	}
	old := proof()
	n, err := enter(old)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the printed proof enters")

	r := runCmd(ctx, env, "context-key", "rotate", "--grace", "0s", "--reason", "drill")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "context key 2 is current")
	_, err = enter(old)
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr) && pgErr.Code == "PT001", "a proof under the retired key is refused: %v", err)
	n, err = enter(proof())
	require.NoError(t, err)
	require.Equal(t, 1, n, "a proof under the new key enters")

	var actions []string
	admin := pgtest.Conn(t, d.AdminURL)
	rows, err := admin.Query(ctx, "SELECT action FROM audit_log ORDER BY id")
	require.NoError(t, err)
	for rows.Next() {
		var a string
		require.NoError(t, rows.Scan(&a))
		actions = append(actions, a)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"context.proof", "context-key.rotate", "context.proof"}, actions)

	r = runCmd(ctx, env, "context-proof", "--tenant", "acme")
	require.Equal(t, exitUsage, r.code, "no --email")
}
