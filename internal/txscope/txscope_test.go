package txscope_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

func projectNames(ps []dbgen.Project) []string {
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return names
}

func TestReadSeesOwnTenantOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	var got []dbgen.Project
	err := b.scope.Read(ctx, whoA(), func(tx *txscope.Tx) error {
		var err error
		got, err = tx.Q.ProjectListFirst(ctx, 100)
		return err
	})
	require.NoError(t, err)
	require.Equal(t, []string{"Apollo"}, projectNames(got)) // positive control; Borealis denied

	// Tenant B's project by id: invisible, not an error of its own.
	err = b.scope.Read(ctx, whoA(), func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectGet(ctx, b.projectB)
		return err
	})
	require.ErrorIs(t, err, txscope.ErrNotFound)

	// The same lookup as bob (tenant B) finds it: the denial above is RLS.
	err = b.scope.Read(ctx, txscope.Who{Email: bobEmail, Tenant: "tenant-b"}, func(tx *txscope.Tx) error {
		p, err := tx.Q.ProjectGet(ctx, b.projectB)
		require.Equal(t, "Borealis", p.Name)
		return err
	})
	require.NoError(t, err)
}

func TestTenantByIDOrSlug(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for _, key := range []string{"tenant-a", b.tenantA.String()} {
		err := b.scope.Read(ctx, txscope.Who{Email: aliceEmail, Tenant: key}, func(tx *txscope.Tx) error {
			s, err := tx.Session(ctx)
			require.Equal(t, b.tenantA, s.TenantID)
			require.Equal(t, txscope.RolePartner, s.Role)
			require.Equal(t, b.alice, s.UserID)
			return err
		})
		require.NoError(t, err, key)
	}
}

func TestNonMemberGetsTenantNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for _, key := range []string{"tenant-b", b.tenantB.String(), "no-such-tenant", uuid.NewString()} {
		called := false
		err := b.scope.Read(ctx, txscope.Who{Email: aliceEmail, Tenant: key}, func(tx *txscope.Tx) error {
			called = true
			ps, err := tx.Q.ProjectListFirst(ctx, 100)
			require.Empty(t, ps) // fn never sees rows of a refused context
			return err
		})
		require.True(t, called)
		require.ErrorIs(t, err, txscope.ErrTenantNotFound, key)

		err = b.scope.Write(ctx, txscope.Who{Email: aliceEmail, Tenant: key}, func(tx *txscope.Tx) error {
			t.Fatal("fn must not run in a refused write scope")
			return nil
		})
		require.ErrorIs(t, err, txscope.ErrTenantNotFound, key)
	}
}

func TestUnknownUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	err := b.scope.Read(ctx, txscope.Who{Email: "mallory@evil.example", Tenant: "tenant-a"}, func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectListFirst(ctx, 10)
		return err
	})
	require.ErrorIs(t, err, txscope.ErrUnknownUser)
	err = b.scope.Write(ctx, txscope.Who{Email: "mallory@evil.example", Tenant: "tenant-a"}, func(tx *txscope.Tx) error { return nil })
	require.ErrorIs(t, err, txscope.ErrUnknownUser)
}

func TestOwnerActsInAnyTenantUnderRLS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var got []dbgen.Project
	err := b.scope.Read(ctx, txscope.Who{Email: olgaEmail, Tenant: "tenant-b"}, func(tx *txscope.Tx) error {
		s, err := tx.Session(ctx)
		require.NoError(t, err)
		require.Equal(t, txscope.RoleOwner, s.Role)
		got, err = tx.Q.ProjectListFirst(ctx, 100)
		return err
	})
	require.NoError(t, err)
	require.Equal(t, []string{"Borealis"}, projectNames(got)) // B only, not A: RLS still applies
}

func TestViewerCannotWrite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	who := txscope.Who{Email: veraEmail, Tenant: "tenant-a"}

	// Positive control: the viewer reads.
	err := b.scope.Read(ctx, who, func(tx *txscope.Tx) error {
		ps, err := tx.Q.ProjectListFirst(ctx, 10)
		require.Len(t, ps, 1)
		return err
	})
	require.NoError(t, err)

	// API-level check: refused before fn runs.
	err = b.scope.Write(ctx, who, func(tx *txscope.Tx) error {
		t.Fatal("fn must not run")
		return nil
	})
	require.ErrorIs(t, err, txscope.ErrForbidden)

	// With the Go check off, the database refuses on its own.
	who.SkipRoleCheck = true
	for name, write := range map[string]func(*txscope.Tx) error{
		"insert": func(tx *txscope.Tx) error {
			_, err := tx.Q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: "viewer-made"})
			return err
		},
		"update": func(tx *txscope.Tx) error {
			n := "renamed"
			_, err := tx.Q.ProjectUpdate(ctx, dbgen.ProjectUpdateParams{ID: b.projectA, Name: &n})
			return err
		},
		"delete": func(tx *txscope.Tx) error {
			_, err := tx.Q.ProjectDelete(ctx, dbgen.ProjectDeleteParams{ID: b.projectA})
			return err
		},
	} {
		err = b.scope.Write(ctx, who, write)
		require.ErrorIs(t, err, txscope.ErrForbidden, name)
	}
	var n int
	require.NoError(t, pgxCount(t, b.db.SuperURL, "SELECT count(*) FROM projects WHERE tenant_id = $1 AND name = 'Apollo'", &n, b.tenantA))
	require.Equal(t, 1, n)
}

func TestWriteCommitsAndRollsBack(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *txscope.Config) { c.MaxConns = 1 })
	ctx := context.Background()

	// Commit.
	var created dbgen.Project
	err := b.scope.Write(ctx, whoA(), func(tx *txscope.Tx) error {
		var err error
		created, err = tx.Q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: "Committed"})
		return err
	})
	require.NoError(t, err)
	require.Equal(t, b.tenantA, created.TenantID) // tenant_id came from the context

	// Error: rolled back.
	boom := errors.New("boom")
	err = b.scope.Write(ctx, whoA(), func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: "RolledBackOnError"})
		require.NoError(t, err)
		return boom
	})
	require.ErrorIs(t, err, boom)

	// Panic: rolled back, panic propagates.
	require.Panics(t, func() {
		_ = b.scope.Write(ctx, whoA(), func(tx *txscope.Tx) error {
			_, err := tx.Q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: "RolledBackOnPanic"})
			require.NoError(t, err)
			panic("handler bug")
		})
	})

	// Cancelled context: rolled back anyway.
	cctx, cancel := context.WithCancel(ctx)
	err = b.scope.Write(cctx, whoA(), func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectCreate(cctx, dbgen.ProjectCreateParams{Name: "RolledBackOnCancel"})
		require.NoError(t, err)
		cancel()
		return cctx.Err()
	})
	require.ErrorIs(t, err, context.Canceled)

	// The single pooled connection still works, and only the commit stuck.
	var names []string
	err = b.scope.Read(ctx, whoA(), func(tx *txscope.Tx) error {
		ps, err := tx.Q.ProjectListFirst(ctx, 100)
		names = projectNames(ps)
		return err
	})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"Apollo", "Committed"}, names)
}

func TestMultiStatementRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	err := b.scope.Read(ctx, whoA(), func(tx *txscope.Tx) error {
		p, err := tx.Q.ProjectGet(ctx, b.projectA)
		if err != nil {
			return err
		}
		ts, err := tx.Q.TaskListFirst(ctx, dbgen.TaskListFirstParams{ProjectID: p.ID, Lim: 10})
		require.Len(t, ts, 1) // the second statement carries the context too
		if err != nil {
			return err
		}
		_, err = tx.Q.ProjectGet(ctx, b.projectB)
		require.ErrorIs(t, err, pgx.ErrNoRows) // and the isolation
		return nil
	})
	require.NoError(t, err)
}

func TestReadIsReadOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	// A partner may write, but not through a Read scope.
	err := b.scope.Read(ctx, whoA(), func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: "via-read"})
		return err
	})
	require.ErrorIs(t, err, txscope.ErrForbidden)
}

func TestDomainErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	// Unique within the tenant: conflict.
	err := b.scope.Write(ctx, whoA(), func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: "Apollo"})
		return err
	})
	require.ErrorIs(t, err, txscope.ErrConflict)
	// The same name in another tenant: fine (no cross-tenant oracle).
	err = b.scope.Write(ctx, whoA(), func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: "Borealis"})
		return err
	})
	require.NoError(t, err)
	// Check constraint: invalid.
	err = b.scope.Write(ctx, whoA(), func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: "   "})
		return err
	})
	require.ErrorIs(t, err, txscope.ErrInvalid)
	// A task on another tenant's project: the composite FK refuses it,
	// reported like a missing project.
	err = b.scope.Write(ctx, whoA(), func(tx *txscope.Tx) error {
		_, err := tx.Q.TaskCreate(ctx, dbgen.TaskCreateParams{ProjectID: b.projectB, Title: "sneaky"})
		return err
	})
	require.ErrorIs(t, err, txscope.ErrNotFound)
}

// TestRoundTrips pins the cost of a scope: a one-query Read is one round
// trip (context pipelined with the query), a one-insert Write is three
// (BEGIN+context, INSERT, COMMIT: what a plain BEGIN/INSERT/COMMIT costs).
// Identity, membership and role resolution add none. Adding a round trip
// to either path fails this test.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	tr := &countingTracer{}
	b := setup(t, func(c *txscope.Config) { c.MaxConns = 1; c.Tracer = tr })
	ctx := context.Background()
	read := func() error {
		return b.scope.Read(ctx, whoA(), func(tx *txscope.Tx) error {
			_, err := tx.Q.ProjectListFirst(ctx, 20)
			return err
		})
	}
	readTwo := func() error {
		return b.scope.Read(ctx, whoA(), func(tx *txscope.Tx) error {
			if _, err := tx.Q.ProjectGet(ctx, b.projectA); err != nil {
				return err
			}
			_, err := tx.Q.TaskListFirst(ctx, dbgen.TaskListFirstParams{ProjectID: b.projectA, Lim: 20})
			return err
		})
	}
	i := 0
	write := func() error {
		i++
		return b.scope.Write(ctx, whoA(), func(tx *txscope.Tx) error {
			_, err := tx.Q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: "rt-" + uuid.NewString()})
			return err
		})
	}
	for name, tc := range map[string]struct {
		fn   func() error
		want int64
	}{
		"read one query":   {read, 1},
		"read two queries": {readTwo, 2},
		"write one insert": {write, 3},
	} {
		require.NoError(t, tc.fn(), name) // warm the statement cache
		tr.Reset()
		require.NoError(t, tc.fn(), name)
		require.Equal(t, tc.want, tr.Load(), name)
	}
}

func pgxCount(t *testing.T, url, sql string, dst *int, args ...any) error {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(context.Background(), sql, args...).Scan(dst)
}
