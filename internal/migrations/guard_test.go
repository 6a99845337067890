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
	res, err := r.Down(ctx, downTo(t, 3)) // reverts 0004 and what came after it
	require.NoError(t, err)
	require.EqualValues(t, 3, res.To)
	third := insert()
	require.Greater(t, third, second, "after down")
	_, err = r.Up(ctx)
	require.NoError(t, err)
	require.Greater(t, insert(), third, "after up again")
}

// downTo is the number of steps `migrate down` takes from the latest
// version to version v.
func downTo(t *testing.T, v uint) int {
	t.Helper()
	vs, err := migrations.Versions()
	require.NoError(t, err)
	n := 0
	for _, x := range vs {
		if x > v {
			n++
		}
	}
	return n
}

// TestTextRulesKeepExistingRows: 0011's constraints do not break a
// database whose rows break them (an address with a no-break space, an
// audit reason with a zero-width space, which the append-only log cannot
// fix, a project name with a bidi override): the migration validates each
// constraint, leaves the ones existing rows break NOT VALID (with a
// warning), and keeps the rows; new rows are checked all the same.
func TestTextRulesKeepExistingRows(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	r, err := migrations.New(d.OwnerURL)
	require.NoError(t, err)
	_, err = r.Down(ctx, downTo(t, 10))
	require.NoError(t, err)
	fx := d.Fixtures(t)
	tenant := fx.Tenant(t, "acme")
	fx.User(t, "kate@acme.com\u00a0")
	fx.Project(t, tenant, "evil\u202etxt.exe")
	fx.Exec(t, `INSERT INTO audit_log (actor_email, actor_role, reason, action) VALUES ('ops@x.example', 'cli', 'zero'||chr(8203)||'width', 'test')`)

	_, err = r.Up(ctx)
	require.NoError(t, err, "existing rows do not stop the migration")
	conn := pgtest.Conn(t, d.SuperURL)
	validated := func(name string) bool {
		var ok bool
		require.NoError(t, conn.QueryRow(ctx, "SELECT convalidated FROM pg_constraint WHERE conname = $1", name).Scan(&ok))
		return ok
	}
	for _, c := range []string{"users_email_check", "projects_name_check", "audit_log_reason_check"} {
		require.False(t, validated(c), "%s stays NOT VALID: existing rows break it", c)
	}
	for _, c := range []string{"tasks_title_check", "tenants_name_check", "task_comments_body_check"} {
		require.True(t, validated(c), "%s is validated: no row breaks it", c)
	}
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM users WHERE email = 'kate@acme.com'||chr(160))
		+ (SELECT count(*) FROM projects WHERE name = 'evil'||chr(8238)||'txt.exe')`).Scan(&n))
	require.Equal(t, 2, n, "the rows are kept as they were")
	_, err = conn.Exec(ctx, "INSERT INTO users (email) VALUES ('bob@acme.com'||chr(160))")
	require.ErrorContains(t, err, "users_email_check", "new rows are checked")
	_, err = conn.Exec(ctx, "INSERT INTO users (email) VALUES ('bob@acme.com')")
	require.NoError(t, err, "positive control")
}
