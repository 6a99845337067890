package txscope_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

func ownerActor(b *bundle) txscope.Actor {
	return txscope.Actor{UserID: b.olga, Email: olgaEmail, Role: "owner", RequestID: "req-1", ClientAddr: "127.0.0.1"}
}

func TestAdminReasonRequiredBeforeAnyQuery(t *testing.T) {
	t.Parallel()
	tr := &countingTracer{}
	b := setup(t, func(c *txscope.Config) { c.Tracer = tr })
	ctx := context.Background()
	for _, reason := range []string{"", "   ", "\t\n", strings.Repeat("x", txscope.MaxReasonLen+1), "ok\x00not"} {
		called := false
		_, err := b.scope.Admin(ctx, ownerActor(b), "tenant.list", reason, func(tx *txscope.AdminTx) error {
			called = true
			return nil
		})
		require.ErrorIs(t, err, txscope.ErrReasonRequired, "%q", reason)
		require.False(t, called)
	}
	require.Zero(t, tr.Load(), "nothing reached the database")

	// Positive control: a reason lets the work run.
	_, err := b.scope.Admin(ctx, ownerActor(b), "tenant.list", "  support ticket 42  ", func(tx *txscope.AdminTx) error { return nil })
	require.NoError(t, err)
	require.NotZero(t, tr.Load())
}

func TestAdminWritesAuditRowWithTheWork(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var total int64
	entry, err := b.scope.Admin(ctx, ownerActor(b), "tenant.count", "support ticket 42", func(tx *txscope.AdminTx) error {
		// BYPASSRLS: sees every tenant's projects.
		ps, err := tx.Q.AdminProjectByName(ctx, dbgen.AdminProjectByNameParams{TenantID: b.tenantB, Name: "Borealis"})
		require.Equal(t, b.projectB, ps.ID)
		tx.Target(b.tenantA, b.tenantB)
		tx.Detail("note", "both")
		total = 2
		return err
	})
	require.NoError(t, err)
	require.Equal(t, int64(2), total)

	conn := pgtest.Conn(t, b.db.SuperURL)
	var (
		actorID          *uuid.UUID
		email, role, why string
		action, req, ip  string
		targets          []uuid.UUID
		detail           map[string]any
	)
	require.NoError(t, conn.QueryRow(ctx, `SELECT actor_user_id, actor_email, actor_role, reason, action, request_id, client_addr, tenant_ids, detail
		FROM audit_log WHERE id = $1`, entry.ID).Scan(&actorID, &email, &role, &why, &action, &req, &ip, &targets, &detail))
	require.Equal(t, b.olga, *actorID)
	require.Equal(t, olgaEmail, email)
	require.Equal(t, "owner", role)
	require.Equal(t, "support ticket 42", why)
	require.Equal(t, "tenant.count", action)
	require.Equal(t, "req-1", req)
	require.Equal(t, "127.0.0.1", ip)
	require.ElementsMatch(t, []uuid.UUID{b.tenantA, b.tenantB}, targets)
	require.Equal(t, "both", detail["note"])
}

// TestAdminAuditFailureRollsBackTheWork injects a failure into the audit
// insert (a trigger, as superuser) and shows the action did not happen.
func TestAdminAuditFailureRollsBackTheWork(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.fx.Exec(t, `CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.action = 'inject.fail' THEN RAISE EXCEPTION 'injected audit failure'; END IF; RETURN NEW; END $$`)
	b.fx.Exec(t, `CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION fail_audit()`)

	rename := func(action, slug string) error {
		_, err := b.scope.Admin(ctx, ownerActor(b), action, "test", func(tx *txscope.AdminTx) error {
			_, err := tx.Q.AdminTenantCreateIfMissing(ctx, dbgen.AdminTenantCreateIfMissingParams{Slug: slug, Name: slug})
			return err
		})
		return err
	}
	require.Error(t, rename("inject.fail", "never-created"))
	require.NoError(t, rename("inject.ok", "created")) // positive control

	conn := pgtest.Conn(t, b.db.SuperURL)
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM tenants WHERE slug = 'never-created'").Scan(&n))
	require.Zero(t, n, "the work was rolled back with the audit insert")
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM tenants WHERE slug = 'created'").Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE action = 'inject.ok'").Scan(&n))
	require.Equal(t, 1, n)
}

// TestAuditLogAppendOnly: the runtime role cannot touch the audit log; the
// admin role can insert and read but not update, delete or truncate.
func TestAuditLogAppendOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.scope.Admin(ctx, ownerActor(b), "seed", "test", func(tx *txscope.AdminTx) error { return nil })
	require.NoError(t, err)

	runtime := pgtest.Conn(t, b.db.RuntimeURL)
	for _, sql := range []string{
		"SELECT count(*) FROM audit_log",
		"UPDATE audit_log SET reason = 'x'",
		"DELETE FROM audit_log",
		"TRUNCATE audit_log",
		"INSERT INTO audit_log (actor_email, actor_role, reason, action) VALUES ('a', 'b', 'c', 'd')",
	} {
		_, err := runtime.Exec(ctx, sql)
		require.Equal(t, "42501", sqlState(err), "runtime: %s", sql)
	}

	admin := pgtest.Conn(t, b.db.AdminURL)
	var n int
	require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM audit_log").Scan(&n))
	require.Equal(t, 1, n, "admin reads")
	for _, sql := range []string{"UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"} {
		_, err := admin.Exec(ctx, sql)
		require.Equal(t, "42501", sqlState(err), "admin: %s", sql)
	}
	// Even a role granted UPDATE/DELETE/TRUNCATE by mistake is stopped by
	// the trigger.
	b.fx.Exec(t, "GRANT UPDATE, DELETE, TRUNCATE ON audit_log TO pgtenant_admin")
	for _, sql := range []string{"UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"} {
		_, err := admin.Exec(ctx, sql)
		require.Error(t, err, "admin with mistaken grants: %s", sql)
		require.Contains(t, err.Error(), "append-only")
	}
	require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM audit_log").Scan(&n))
	require.Equal(t, 1, n)
}
