package txscope_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/ctxproof"
	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/rlscheck"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// The attacks of issue 10, each performed as the runtime role with raw SQL
// (a leaked DATABASE_URL, a psql session, an injected statement), each next
// to a positive control that shows the same path works for the server.

// visible counts what the transaction sees of every table the runtime role
// may read.
func visible(t *testing.T, tx pgx.Tx) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tbl := range []string{"projects", "tasks", "memberships", "tenants", "users"} {
		out[tbl] = count(t, tx, "SELECT count(*) FROM "+tbl)
	}
	return out
}

var nothing = map[string]int{"projects": 0, "tasks": 0, "memberships": 0, "tenants": 0, "users": 0}

func begin(t *testing.T, conn *pgx.Conn) pgx.Tx {
	t.Helper()
	tx, err := conn.Begin(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

const enterRaw = "SELECT tenant_id FROM app.enter($1, $2, $3, $4)"

// TestForgedContextReadsNothing: set_config of the context settings, with
// or without a seal taken from a real context, and app.enter without a
// valid proof, give the runtime role nothing to read or write.
func TestForgedContextReadsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conn := pgtest.Conn(t, b.db.RuntimeURL)
	ctx := context.Background()

	// Positive control: entered with the server's proof, alice sees tenant
	// A (and its members, its registry rows), and keeps the settings and
	// seal for the attack below.
	tx := begin(t, conn)
	var granted *uuid.UUID
	require.NoError(t, tx.QueryRow(ctx, enterRaw, aliceEmail, "tenant-a", false, b.db.Proof(t, aliceEmail, "tenant-a", false)).Scan(&granted))
	require.Equal(t, b.tenantA, *granted)
	require.Equal(t, map[string]int{"projects": 1, "tasks": 1, "memberships": 2, "tenants": 1, "users": 2}, visible(t, tx))
	var seal string
	require.NoError(t, tx.QueryRow(ctx, "SELECT current_setting('app.seal')").Scan(&seal))
	require.NoError(t, tx.Rollback(ctx))

	forgeries := map[string]string{
		"settings only": `SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true),
			set_config('app.role', 'partner', true), set_config('app.is_owner', 'true', true)`,
		"settings and a seal from another transaction": `SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true),
			set_config('app.role', 'partner', true), set_config('app.is_owner', 'false', true), set_config('app.seal', $3, true)`,
		"session-level settings": `SELECT set_config('app.tenant_id', $1, false), set_config('app.user_id', $2, false),
			set_config('app.role', 'owner', false), set_config('app.is_owner', 'true', false), set_config('app.seal', $3, false)`,
	}
	for name, sql := range forgeries {
		tx := begin(t, conn)
		args := []any{b.tenantB.String(), b.bob.String()}
		if strings.Contains(sql, "$3") {
			args = append(args, seal)
		}
		_, err := tx.Exec(ctx, sql, args...)
		require.NoError(t, err, name)
		require.Equal(t, nothing, visible(t, tx), name)
		_, err = exec(t, tx, "INSERT INTO projects (tenant_id, name) VALUES ($1, 'forged')", b.tenantB)
		require.Equal(t, "42501", sqlState(err), "%s: insert refused", name)
		n, err := exec(t, tx, "UPDATE projects SET name = 'forged' WHERE id = $1", b.projectB)
		require.NoError(t, err)
		require.Zero(t, n, name)
		_, err = exec(t, tx, "SELECT * FROM app.member_add('mallory@evil.example', 'partner')")
		require.Equal(t, "42501", sqlState(err), "%s: member_add refused", name)
		require.NoError(t, tx.Rollback(ctx))
	}
	_, err := conn.Exec(ctx, "RESET ALL")
	require.NoError(t, err)

	// app.enter without the server's proof: another user's email with
	// alice's proof, a proof for a read-only transaction used read-write,
	// an expired proof, a proof signed with a key the database does not
	// hold, no proof at all.
	var keyID int32
	var secret []byte
	require.NoError(t, pgtest.Conn(t, b.db.SuperURL).QueryRow(ctx,
		"SELECT id, secret FROM app_private.context_keys ORDER BY id DESC LIMIT 1").Scan(&keyID, &secret))
	wrongKey := make([]byte, len(secret))
	for name, c := range map[string]struct {
		email, tenant string
		readOnly      bool
		proof         string
	}{
		"owner email, alice's proof":  {olgaEmail, "tenant-b", false, b.db.Proof(t, aliceEmail, "tenant-b", false)},
		"other tenant":                {aliceEmail, "tenant-b", false, b.db.Proof(t, aliceEmail, "tenant-a", false)},
		"read-only proof, read-write": {aliceEmail, "tenant-a", false, b.db.Proof(t, aliceEmail, "tenant-a", true)},
		"expired":                     {aliceEmail, "tenant-a", false, ctxproof.Sign(keyID, secret, aliceEmail, "tenant-a", false, time.Now().Add(-time.Second))},
		"unknown key":                 {aliceEmail, "tenant-a", false, ctxproof.Sign(keyID, wrongKey, aliceEmail, "tenant-a", false, time.Now().Add(time.Minute))},
		"no proof":                    {olgaEmail, "tenant-b", false, ""},
	} {
		tx := begin(t, conn)
		var got *uuid.UUID
		err := tx.QueryRow(ctx, enterRaw, c.email, c.tenant, c.readOnly, c.proof).Scan(&got)
		require.Equal(t, "PT001", sqlState(err), "%s: %v", name, err)
		require.NoError(t, tx.Rollback(ctx))
	}
}

// TestServerTransactionCannotBeWidened: inside a transaction entered with a
// valid proof (what the server does), later statements can neither rewrite
// a setting into another context nor re-enter as someone else, even within
// one statement that changes the settings before the policies read them.
func TestServerTransactionCannotBeWidened(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conn := pgtest.Conn(t, b.db.RuntimeURL)
	ctx := context.Background()
	enterA := func() pgx.Tx {
		tx := begin(t, conn)
		var granted *uuid.UUID
		require.NoError(t, tx.QueryRow(ctx, enterRaw, veraEmail, "tenant-a", false, b.db.Proof(t, veraEmail, "tenant-a", false)).Scan(&granted))
		require.Equal(t, 1, count(t, tx, "SELECT count(*) FROM projects"), "positive control: the viewer reads A")
		return tx
	}

	for name, widen := range map[string]string{
		"tenant":           `SELECT set_config('app.tenant_id', '` + b.tenantB.String() + `', true)`,
		"role to partner":  `SELECT set_config('app.role', 'partner', true)`,
		"owner flag":       `SELECT set_config('app.is_owner', 'true', true)`,
		"user":             `SELECT set_config('app.user_id', '` + b.bob.String() + `', true)`,
		"session override": `SELECT set_config('app.tenant_id', '` + b.tenantB.String() + `', false)`,
	} {
		tx := enterA()
		_, err := tx.Exec(ctx, widen)
		require.NoError(t, err, name)
		require.Equal(t, nothing, visible(t, tx), "%s: a rewritten setting verifies as no context", name)
		require.NoError(t, tx.Rollback(ctx))
	}

	// Rewriting inside the statement the policies are evaluated for: at
	// most the rows of the context that was entered, never B's.
	tx := enterA()
	n := count(t, tx, `SELECT count(*) FROM (SELECT set_config('app.tenant_id', $1, true) OFFSET 0) f, projects p
		WHERE p.tenant_id = $1::uuid`, b.tenantB.String())
	require.Zero(t, n)
	require.NoError(t, tx.Rollback(ctx))

	// Re-entering as an Owner, or as a partner of B, without their proof.
	for _, who := range [][2]string{{olgaEmail, "tenant-b"}, {bobEmail, "tenant-b"}, {aliceEmail, "tenant-a"}} {
		tx := enterA()
		_, err := exec(t, tx, "SELECT * FROM app.enter($1, $2, false, $3)", who[0], who[1], b.db.Proof(t, veraEmail, "tenant-a", false))
		require.Equal(t, "PT001", sqlState(err), "re-enter as %s", who[0])
		// The refused call left the viewer's context as it was: still read-only.
		_, err = exec(t, tx, "INSERT INTO projects (name) VALUES ('widened')")
		require.Error(t, err)
		require.NoError(t, tx.Rollback(ctx))
	}

	// A seal taken from the server's transaction is worthless in the next
	// one, on the same connection.
	tx = enterA()
	var settings []string
	require.NoError(t, tx.QueryRow(ctx, `SELECT ARRAY[current_setting('app.user_id'), current_setting('app.tenant_id'),
		current_setting('app.role'), current_setting('app.is_owner'), current_setting('app.seal')]`).Scan(&settings))
	require.NoError(t, tx.Rollback(ctx))
	tx = begin(t, conn)
	_, err := tx.Exec(ctx, `SELECT set_config('app.user_id', $1, true), set_config('app.tenant_id', $2, true),
		set_config('app.role', $3, true), set_config('app.is_owner', $4, true), set_config('app.seal', $5, true)`,
		settings[0], settings[1], settings[2], settings[3], settings[4])
	require.NoError(t, err)
	require.Equal(t, nothing, visible(t, tx))
}

// TestRoleSelfSettings: the runtime role can give itself role-level
// settings (ALTER ROLE ... SET), which every new session would inherit;
// SelfCheck (serve, /readyz) refuses them, except the allowlisted ones.
func TestRoleSelfSettings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	require.NoError(t, b.scope.SelfCheck(ctx), "positive control: a clean database passes")

	conn := pgtest.Conn(t, b.db.RuntimeURL)
	for _, set := range []string{"row_security = off", "search_path = pg_temp, public", "default_transaction_read_only = on"} {
		_, err := conn.Exec(ctx, "ALTER ROLE CURRENT_USER IN DATABASE "+b.db.Name+" SET "+set)
		require.NoError(t, err, "the runtime role may alter its own settings: %s", set)
		err = b.scope.SelfCheck(ctx)
		require.True(t, txscope.IsSelfCheckError(err), "%s: %v", set, err)
		require.ErrorContains(t, err, strings.Fields(set)[0])
		_, err = conn.Exec(ctx, "ALTER ROLE CURRENT_USER IN DATABASE "+b.db.Name+" RESET ALL")
		require.NoError(t, err)
	}
	// Allowlisted: timeouts (and pgaudit.*, not installed here).
	_, err := conn.Exec(ctx, "ALTER ROLE CURRENT_USER IN DATABASE "+b.db.Name+" SET statement_timeout = '30s'")
	require.NoError(t, err)
	require.NoError(t, b.scope.SelfCheck(ctx))
	_, err = conn.Exec(ctx, "ALTER ROLE CURRENT_USER IN DATABASE "+b.db.Name+" RESET ALL")
	require.NoError(t, err)
	// TEMP on the database is refused too.
	b.fx.Exec(t, "GRANT TEMPORARY ON DATABASE "+b.db.Name+" TO "+pgtest.RuntimeRole)
	require.ErrorContains(t, b.scope.SelfCheck(ctx), "TEMPORARY")
}

// explainRows returns the planner's row estimate for sql.
func explainRows(t *testing.T, tx pgx.Tx, sql string, args ...any) float64 {
	t.Helper()
	var raw []byte
	require.NoError(t, tx.QueryRow(context.Background(), "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&raw))
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	require.NoError(t, json.Unmarshal(raw, &plan))
	return plan[0].Plan.Rows
}

// TestPlannerStatisticsRevealNothing: a member of tenant A asks the
// planner how many tasks are titled like a 300-row title of tenant B, and
// like a title nobody has. As migrated the estimates are the same; with
// value statistics (the control: statistics turned back on for the column)
// they differ.
func TestPlannerStatisticsRevealNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fx.Exec(t, `INSERT INTO tasks (tenant_id, project_id, title)
		SELECT $1, $2, 'merger with initech' FROM generate_series(1, 300)`, b.tenantB, b.projectB)
	b.fx.Exec(t, `INSERT INTO tasks (tenant_id, project_id, title)
		SELECT $1, $2, 'task ' || i FROM generate_series(1, 300) i`, b.tenantA, b.projectA)
	conn := pgtest.Conn(t, b.db.RuntimeURL)
	estimates := func() (present, absent float64) {
		var got [2]float64
		inTenant(t, b.db, conn, aliceEmail, "tenant-a", func(tx pgx.Tx) {
			got[0] = explainRows(t, tx, "SELECT * FROM tasks WHERE title = $1", "merger with initech")
			got[1] = explainRows(t, tx, "SELECT * FROM tasks WHERE title = $1", "no such title at all")
		})
		return got[0], got[1]
	}

	// As migrated: no value statistics on the column.
	b.fx.Exec(t, "ANALYZE tasks")
	present, absent := estimates()
	require.Equal(t, absent, present, "another tenant's title and an absent one estimate alike")

	// Control: statistics turned back on, the same question tells.
	b.fx.Exec(t, "ALTER TABLE tasks ALTER COLUMN title SET STATISTICS -1")
	b.fx.Exec(t, "ANALYZE tasks")
	present, absent = estimates()
	require.Greater(t, present, 10*absent, "control: with statistics, B's title shows (%v vs %v)", present, absent)
}

// TestAdminWritesNeedAnAuditRow: the admin role (BYPASSRLS) writing without
// an audit row in the same transaction is refused at COMMIT; with one, the
// write stands.
func TestAdminWritesNeedAnAuditRow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	admin := pgtest.Conn(t, b.db.AdminURL)
	isOwner := func() bool {
		var v bool
		require.NoError(t, admin.QueryRow(ctx, "SELECT is_owner FROM users WHERE id = $1", b.alice).Scan(&v))
		return v
	}

	_, err := admin.Exec(ctx, "UPDATE users SET is_owner = true WHERE id = $1", b.alice)
	require.Equal(t, "42501", sqlState(err), "%v", err)
	require.ErrorContains(t, err, "without an audit row")
	require.False(t, isOwner())

	// Checking early does not help.
	tx := begin(t, admin)
	_, err = tx.Exec(ctx, "SET CONSTRAINTS ALL IMMEDIATE")
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "UPDATE users SET is_owner = true WHERE id = $1", b.alice)
	require.Equal(t, "42501", sqlState(err))
	require.NoError(t, tx.Rollback(ctx))

	// An audit row in another transaction does not cover this one.
	_, err = admin.Exec(ctx, `INSERT INTO audit_log (actor_email, actor_role, reason, action) VALUES ('ops@x', 'cli', 'earlier', 'x')`)
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "UPDATE users SET is_owner = true WHERE id = $1", b.alice)
	require.Equal(t, "42501", sqlState(err))
	require.False(t, isOwner())

	// Positive control: with its audit row, the same write commits.
	tx = begin(t, admin)
	_, err = tx.Exec(ctx, "UPDATE users SET is_owner = true WHERE id = $1", b.alice)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (actor_email, actor_role, reason, action) VALUES ('ops@x', 'cli', 'ticket 7', 'owner.add')`)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	require.True(t, isOwner())

	// And through txscope.Admin, which writes the row itself.
	_, err = b.scope.Admin(ctx, ownerActor(b), "tenant.ensure", "ticket 8", func(tx *txscope.AdminTx) error {
		_, err := tx.Q.AdminTenantCreateIfMissing(ctx, dbgen.AdminTenantCreateIfMissingParams{Slug: "audited", Name: "Audited"})
		return err
	})
	require.NoError(t, err)

	// The runtime role's own writes never need one.
	err = b.scope.Write(ctx, whoA(), func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: "runtime write"})
		return err
	})
	require.NoError(t, err)
}

// TestAuditRowsAreStampedByTheDatabase: whatever the admin role sends for
// id and at (OVERRIDING SYSTEM VALUE included), the row gets the next id,
// the current time, its transaction and the login role.
func TestAuditRowsAreStampedByTheDatabase(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	first, err := b.scope.Admin(ctx, ownerActor(b), "seed", "positive control", func(tx *txscope.AdminTx) error { return nil })
	require.NoError(t, err)

	admin := pgtest.Conn(t, b.db.AdminURL)
	for _, sql := range []string{
		`INSERT INTO audit_log (id, at, xact, db_user, actor_email, actor_role, reason, action)
		 VALUES (1, '2001-01-01', 42, 'someone_else', 'ops@x', 'cli', 'backdated', 'x') RETURNING id, at, xact, db_user`,
		`INSERT INTO audit_log (id, at, actor_email, actor_role, reason, action) OVERRIDING SYSTEM VALUE
		 VALUES (-5, '2001-01-01', 'ops@x', 'cli', 'renumbered', 'x') RETURNING id, at, xact, db_user`,
	} {
		tx := begin(t, admin)
		var id, xact, txid int64
		var at time.Time
		var dbUser string
		require.NoError(t, tx.QueryRow(ctx, sql).Scan(&id, &at, &xact, &dbUser))
		require.NoError(t, tx.QueryRow(ctx, "SELECT pg_current_xact_id()::text::bigint").Scan(&txid))
		require.NoError(t, tx.Commit(ctx))
		require.Greater(t, id, first.ID, "the next id, not the caller's")
		require.WithinDuration(t, time.Now(), at, time.Minute, "the database's clock, not the caller's")
		require.Equal(t, txid, xact)
		require.Equal(t, pgtest.AdminRole, dbUser)
	}
}

// TestTenantLookupSameIndexWork: for a user who is not a member, app.enter
// probes the indexes of users, tenants and memberships the same number of
// times whether the named tenant exists or not (and for a member), so the
// request costs the same.
func TestTenantLookupSameIndexWork(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conn := pgtest.Conn(t, b.db.RuntimeURL)
	ctx := context.Background()
	// Index scans counted by the backend (pending statistics accumulate
	// over transactions until flushed, so the difference around the call).
	const numscans = `SELECT array_agg((SELECT sum(pg_stat_get_xact_numscans(i.indexrelid))::bigint
		FROM pg_index i WHERE i.indrelid = t::regclass) ORDER BY o)
		FROM unnest(ARRAY['users', 'tenants', 'memberships']) WITH ORDINALITY u(t, o)`
	scans := func(tenant string) []int64 {
		tx := begin(t, conn)
		var before, after []int64
		require.NoError(t, tx.QueryRow(ctx, numscans).Scan(&before))
		_, err := tx.Exec(ctx, enterRaw, aliceEmail, tenant, true, b.db.Proof(t, aliceEmail, tenant, true))
		require.NoError(t, err)
		require.NoError(t, tx.QueryRow(ctx, numscans).Scan(&after))
		require.NoError(t, tx.Rollback(ctx))
		for i := range after {
			after[i] -= before[i]
		}
		return after
	}
	member, exists, missing := scans("tenant-a"), scans("tenant-b"), scans("no-such-tenant")
	require.Equal(t, []int64{1, 1, 1}, member, "positive control: a member's entry probes each index once")
	require.Equal(t, member, exists, "non-member, existing tenant")
	require.Equal(t, exists, missing, "non-member, missing tenant")
}

// TestAllowedRoleSettingsAgree: the self-check and rls-check's rule
// role_settings accept the same role-level settings.
func TestAllowedRoleSettingsAgree(t *testing.T) {
	t.Parallel()
	require.Equal(t, rlscheck.AllowedRoleSettings, txscope.AllowedRoleSettings)
}
