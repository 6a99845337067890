package txscope_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// These tests speak SQL directly as the runtime role (the role the server's
// DATABASE_URL uses), so they test the policies themselves, whatever the Go
// code does. Each table and command has a positive control (own tenant
// works) and a denial (the other tenant's rows are invisible; writes affect
// nothing or are refused).

// inTenant runs fn in a transaction entered as email in tenant (with a
// proof, as the server would), and rolls it back.
func inTenant(t *testing.T, db *pgtest.DB, conn *pgx.Conn, email, tenant string, fn func(tx pgx.Tx)) {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	var tenantID *uuid.UUID
	require.NoError(t, tx.QueryRow(ctx, "SELECT tenant_id FROM app.enter($1, $2, false, $3)",
		email, tenant, db.Proof(t, email, tenant, false)).Scan(&tenantID))
	require.NotNil(t, tenantID, "enter %s in %s", email, tenant)
	fn(tx)
}

func count(t *testing.T, tx pgx.Tx, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, tx.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func exec(t *testing.T, tx pgx.Tx, sql string, args ...any) (int64, error) {
	t.Helper()
	ctx := context.Background()
	// A savepoint keeps the transaction usable after an expected error.
	_, err := tx.Exec(ctx, "SAVEPOINT s")
	require.NoError(t, err)
	tag, err := tx.Exec(ctx, sql, args...)
	if err != nil {
		_, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT s")
		require.NoError(t, rerr)
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// tableCase describes one tenant table for the matrix.
type tableCase struct {
	table string
	// ownID/otherID pick a row of tenant A / tenant B (SQL fragment on $1).
	key     string
	ownKey  func(b *bundle) []any
	otherKy func(b *bundle) []any
	// insert inserts a row in the context's tenant; insertOther tries to
	// insert one for tenant B ($1 = tenant B's id).
	insert      func(b *bundle) (string, []any)
	insertOther func(b *bundle) (string, []any)
	// update touches a harmless column of the row picked by key.
	update string
	// immutable: the runtime role has no UPDATE on the table, so update is
	// refused (42501) for own rows too.
	immutable bool
}

func tableCases() []tableCase {
	return []tableCase{
		{
			table:   "projects",
			key:     "id = $1",
			ownKey:  func(b *bundle) []any { return []any{b.projectA} },
			otherKy: func(b *bundle) []any { return []any{b.projectB} },
			insert: func(b *bundle) (string, []any) {
				return "INSERT INTO projects (name) VALUES ('new one')", nil
			},
			insertOther: func(b *bundle) (string, []any) {
				return "INSERT INTO projects (tenant_id, name) VALUES ($1, 'smuggled')", []any{b.tenantB}
			},
			update: "UPDATE projects SET description = 'touched' WHERE id = $1",
		},
		{
			table:   "tasks",
			key:     "id = $1",
			ownKey:  func(b *bundle) []any { return []any{b.taskA} },
			otherKy: func(b *bundle) []any { return []any{b.taskB} },
			insert: func(b *bundle) (string, []any) {
				return "INSERT INTO tasks (project_id, title) VALUES ($1, 'new one')", []any{b.projectA}
			},
			insertOther: func(b *bundle) (string, []any) {
				return "INSERT INTO tasks (tenant_id, project_id, title) VALUES ($1, $2, 'smuggled')", []any{b.tenantB, b.projectB}
			},
			update: "UPDATE tasks SET done = true WHERE id = $1",
		},
		{
			table:   "task_comments",
			key:     "id = $1",
			ownKey:  func(b *bundle) []any { return []any{b.commentA} },
			otherKy: func(b *bundle) []any { return []any{b.commentB} },
			insert: func(b *bundle) (string, []any) {
				return "INSERT INTO task_comments (task_id, body) VALUES ($1, 'new one')", []any{b.taskA}
			},
			insertOther: func(b *bundle) (string, []any) {
				return "INSERT INTO task_comments (tenant_id, task_id, body) VALUES ($1, $2, 'smuggled')", []any{b.tenantB, b.taskB}
			},
			update:    "UPDATE task_comments SET body = 'touched' WHERE id = $1",
			immutable: true,
		},
		{
			table:   "memberships",
			key:     "user_id = $1",
			ownKey:  func(b *bundle) []any { return []any{b.vera} },
			otherKy: func(b *bundle) []any { return []any{b.bob} },
			insert: func(b *bundle) (string, []any) {
				return "INSERT INTO memberships (user_id, role) VALUES ($1, 'client_viewer')", []any{b.bob}
			},
			insertOther: func(b *bundle) (string, []any) {
				return "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'partner')", []any{b.tenantB, b.alice}
			},
			update: "UPDATE memberships SET role = 'client_viewer' WHERE user_id = $1",
		},
	}
}

func TestIsolationMatrix(t *testing.T) {
	t.Parallel()
	for _, tc := range tableCases() {
		t.Run(tc.table, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			conn := pgtest.Conn(t, b.db.RuntimeURL)
			sel := "SELECT count(*) FROM " + tc.table + " WHERE " + tc.key

			t.Run("select", func(t *testing.T) {
				inTenant(t, b.db, conn, aliceEmail, "tenant-a", func(tx pgx.Tx) {
					require.Equal(t, 1, count(t, tx, sel, tc.ownKey(b)...), "own row visible")
					require.Equal(t, 0, count(t, tx, sel, tc.otherKy(b)...), "other tenant's row invisible")
					require.Equal(t, 0, count(t, tx, "SELECT count(*) FROM "+tc.table+" WHERE tenant_id <> $1", b.tenantA))
				})
			})
			t.Run("insert", func(t *testing.T) {
				inTenant(t, b.db, conn, aliceEmail, "tenant-a", func(tx pgx.Tx) {
					sql, args := tc.insert(b)
					n, err := exec(t, tx, sql, args...)
					require.NoError(t, err)
					require.EqualValues(t, 1, n, "own insert")
					sql, args = tc.insertOther(b)
					_, err = exec(t, tx, sql, args...)
					require.Equal(t, "42501", sqlState(err), "insert into another tenant refused: %v", err)
				})
			})
			t.Run("update", func(t *testing.T) {
				inTenant(t, b.db, conn, aliceEmail, "tenant-a", func(tx pgx.Tx) {
					if tc.immutable {
						for _, key := range [][]any{tc.ownKey(b), tc.otherKy(b)} {
							_, err := exec(t, tx, tc.update, key...)
							require.Equal(t, "42501", sqlState(err), "no UPDATE privilege: %v", err)
						}
						require.Equal(t, 1, count(t, tx, sel, tc.ownKey(b)...), "own row still there")
						return
					}
					n, err := exec(t, tx, tc.update, tc.ownKey(b)...)
					require.NoError(t, err)
					require.EqualValues(t, 1, n, "own update")
					n, err = exec(t, tx, tc.update, tc.otherKy(b)...)
					require.NoError(t, err)
					require.EqualValues(t, 0, n, "other tenant's row untouched")
					// Moving an own row to another tenant is refused.
					_, err = exec(t, tx, "UPDATE "+tc.table+" SET tenant_id = $2 WHERE "+tc.key, append(tc.ownKey(b), b.tenantB)...)
					require.Error(t, err)
					require.Contains(t, []string{"42501", "23503"}, sqlState(err), "%v", err)
				})
			})
			t.Run("delete", func(t *testing.T) {
				inTenant(t, b.db, conn, aliceEmail, "tenant-a", func(tx pgx.Tx) {
					n, err := exec(t, tx, "DELETE FROM "+tc.table+" WHERE "+tc.key, tc.otherKy(b)...)
					require.NoError(t, err)
					require.EqualValues(t, 0, n, "other tenant's row not deleted")
					n, err = exec(t, tx, "DELETE FROM "+tc.table+" WHERE "+tc.key, tc.ownKey(b)...)
					require.NoError(t, err)
					require.EqualValues(t, 1, n, "own delete")
				})
			})
			t.Run("no context", func(t *testing.T) {
				ctx := context.Background()
				tx, err := conn.Begin(ctx)
				require.NoError(t, err)
				defer tx.Rollback(ctx)
				require.Equal(t, 0, count(t, tx, "SELECT count(*) FROM "+tc.table), "no context, no rows")
				sql, args := tc.insert(b)
				_, err = exec(t, tx, sql, args...)
				require.Error(t, err, "no context, no writes")
				if !tc.immutable {
					n, err := exec(t, tx, tc.update, tc.ownKey(b)...)
					require.NoError(t, err)
					require.EqualValues(t, 0, n)
				}
				n, err := exec(t, tx, "DELETE FROM "+tc.table+" WHERE "+tc.key, tc.ownKey(b)...)
				require.NoError(t, err)
				require.EqualValues(t, 0, n)
			})
		})
	}
}

// TestRegistriesVisibility: tenants and users are global tables the
// runtime role reads under policies of their own.
func TestRegistriesVisibility(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conn := pgtest.Conn(t, b.db.RuntimeURL)
	inTenant(t, b.db, conn, aliceEmail, "tenant-a", func(tx pgx.Tx) {
		require.Equal(t, 1, count(t, tx, "SELECT count(*) FROM tenants WHERE id = $1", b.tenantA))
		require.Equal(t, 0, count(t, tx, "SELECT count(*) FROM tenants WHERE id = $1", b.tenantB))
		// Own row and co-members of A; not bob (B), not olga.
		require.Equal(t, 1, count(t, tx, "SELECT count(*) FROM users WHERE id = $1", b.vera))
		require.Equal(t, 0, count(t, tx, "SELECT count(*) FROM users WHERE id = $1", b.bob))
		require.Equal(t, 0, count(t, tx, "SELECT count(*) FROM users WHERE id = $1", b.olga))
		// The runtime role cannot write the registries at all.
		_, err := exec(t, tx, "UPDATE tenants SET name = 'x' WHERE id = $1", b.tenantA)
		require.Equal(t, "42501", sqlState(err))
		_, err = exec(t, tx, "UPDATE users SET is_owner = true WHERE id = $1", b.alice)
		require.Equal(t, "42501", sqlState(err))
		_, err = exec(t, tx, "SELECT count(*) FROM audit_log")
		require.Equal(t, "42501", sqlState(err))
	})
}

// TestViewerWritesRefusedByPolicies: even in a transaction that is not read
// only, the restrictive writer policies refuse a Client Viewer. app.enter
// makes a viewer's transaction read-only, so to reach the policies the test
// lets the runtime role seal a viewer context itself (a grant production
// never makes).
func TestViewerWritesRefusedByPolicies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fx.Exec(t, "GRANT EXECUTE ON FUNCTION app.seal_context(uuid, uuid, text, boolean) TO "+pgtest.RuntimeRole)
	conn := pgtest.Conn(t, b.db.RuntimeURL)
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `SELECT app.seal_context($1, $2, 'client_viewer', false)`, b.vera, b.tenantA)
	require.NoError(t, err)
	require.Equal(t, 1, count(t, tx, "SELECT count(*) FROM projects"), "positive control: the viewer reads")
	for _, sql := range []string{
		"INSERT INTO projects (name) VALUES ('viewer')",
		"INSERT INTO tasks (project_id, title) VALUES ('" + b.projectA.String() + "', 'viewer')",
		"INSERT INTO memberships (user_id, role) VALUES ('" + b.bob.String() + "', 'partner')",
		"INSERT INTO task_comments (task_id, body) VALUES ('" + b.taskA.String() + "', 'viewer')",
	} {
		_, err := exec(t, tx, sql)
		require.Equal(t, "42501", sqlState(err), sql)
	}
	for _, sql := range []string{
		"UPDATE projects SET name = 'viewer'", "UPDATE tasks SET done = true", "UPDATE memberships SET role = 'partner'",
		"DELETE FROM task_comments", "DELETE FROM tasks", "DELETE FROM projects", "DELETE FROM memberships",
	} {
		n, err := exec(t, tx, sql)
		require.NoError(t, err, sql)
		require.Zero(t, n, sql)
	}
}

// TestCommentAuthorIsTheWriter: a partner cannot put a comment in a
// co-member's name (the attack: INSERT ... author_id = <someone else>, as
// raw SQL on the runtime role); the insert policy ties author_id to the
// context's user. The default fills it in; naming oneself works.
func TestCommentAuthorIsTheWriter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conn := pgtest.Conn(t, b.db.RuntimeURL)
	inTenant(t, b.db, conn, aliceEmail, "tenant-a", func(tx pgx.Tx) {
		_, err := exec(t, tx, "INSERT INTO task_comments (task_id, author_id, body) VALUES ($1, $2, 'said vera')", b.taskA, b.vera)
		require.Equal(t, "42501", sqlState(err), "a comment in another member's name: %v", err)
		_, err = exec(t, tx, "INSERT INTO task_comments (task_id, author_id, body) VALUES ($1, NULL, 'unsigned')", b.taskA)
		require.Equal(t, "42501", sqlState(err), "an unsigned comment: %v", err)
		n, err := exec(t, tx, "INSERT INTO task_comments (task_id, author_id, body) VALUES ($1, $2, 'said alice')", b.taskA, b.alice)
		require.NoError(t, err)
		require.EqualValues(t, 1, n, "positive control: in one's own name")
		var author uuid.UUID
		require.NoError(t, tx.QueryRow(context.Background(), "INSERT INTO task_comments (task_id, body) VALUES ($1, 'default') RETURNING author_id", b.taskA).Scan(&author))
		require.Equal(t, b.alice, author, "the default is the writer")
	})
}

// TestSuspendedTenantInvisible: once a tenant is suspended, app.enter grants
// no context in it, so its rows are invisible to the runtime role through
// every path that enters (txscope, make psql), from the next statement on:
// a read scope re-enters for each statement.
func TestSuspendedTenantInvisible(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conn := pgtest.Conn(t, b.db.RuntimeURL)
	ctx := context.Background()
	direct := func() (granted bool, rows int) {
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx)
		var tenantID *uuid.UUID
		require.NoError(t, tx.QueryRow(ctx, "SELECT tenant_id FROM app.enter($1, 'tenant-a', false, $2)",
			aliceEmail, b.db.Proof(t, aliceEmail, "tenant-a", false)).Scan(&tenantID))
		return tenantID != nil, count(t, tx, "SELECT count(*) FROM projects") + count(t, tx, "SELECT count(*) FROM tasks")
	}
	granted, n := direct()
	require.True(t, granted, "positive control")
	require.Equal(t, 2, n)

	// A read scope that is open when the tenant is suspended: its next
	// statement is refused.
	err := b.scope.Read(ctx, whoA(), func(tx *txscope.Tx) error {
		ps, err := tx.Q.ProjectListFirst(ctx, 10)
		require.NoError(t, err)
		require.Len(t, ps, 1)
		b.fx.Exec(t, "UPDATE tenants SET status = 'suspended' WHERE id = $1", b.tenantA)
		_, err = tx.Q.TaskListFirst(ctx, dbgen.TaskListFirstParams{ProjectID: b.projectA, Lim: 10})
		return err
	})
	require.ErrorIs(t, err, txscope.ErrTenantNotFound)

	granted, n = direct()
	require.False(t, granted, "app.enter grants no context in a suspended tenant")
	require.Zero(t, n)
	for _, email := range []string{aliceEmail, veraEmail, olgaEmail} {
		err = b.scope.Read(ctx, txscope.Who{Email: email, Tenant: "tenant-a"}, func(tx *txscope.Tx) error {
			_, err := tx.Q.ProjectListFirst(ctx, 10)
			return err
		})
		require.ErrorIs(t, err, txscope.ErrTenantNotFound, email)
	}
	// Other tenants are unaffected.
	err = b.scope.Read(ctx, txscope.Who{Email: bobEmail, Tenant: "tenant-b"}, func(tx *txscope.Tx) error {
		ps, err := tx.Q.ProjectListFirst(ctx, 10)
		require.Len(t, ps, 1)
		return err
	})
	require.NoError(t, err)
}

// TestRevocationMidScope: a member removed while a read scope is open loses
// access at the scope's next statement.
func TestRevocationMidScope(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	err := b.scope.Read(ctx, whoA(), func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectGet(ctx, b.projectA)
		require.NoError(t, err)
		b.fx.Exec(t, "DELETE FROM memberships WHERE user_id = $1", b.alice)
		_, err = tx.Q.ProjectGet(ctx, b.projectA)
		return err
	})
	require.ErrorIs(t, err, txscope.ErrTenantNotFound)
}

// TestEmptySettingAfterTransaction: once a transaction that set the context
// ends, Postgres reads the settings as ” on that connection; the helpers
// turn that into NULL instead of failing a uuid cast.
func TestEmptySettingAfterTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conn := pgtest.Conn(t, b.db.RuntimeURL)
	ctx := context.Background()
	inTenant(t, b.db, conn, aliceEmail, "tenant-a", func(tx pgx.Tx) {
		require.Equal(t, 1, count(t, tx, "SELECT count(*) FROM projects"))
	})
	var raw string
	require.NoError(t, conn.QueryRow(ctx, "SELECT current_setting('app.tenant_id', true)").Scan(&raw))
	require.Equal(t, "", raw) // the trap: '' and not NULL
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM projects").Scan(&n))
	require.Zero(t, n)
	var tid *uuid.UUID
	require.NoError(t, conn.QueryRow(ctx, "SELECT app.current_tenant_id()").Scan(&tid))
	require.Nil(t, tid)
}
