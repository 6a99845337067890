package txscope_test

import (
	"context"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// bundle is two tenants with a project and a task each, and one user per
// role: alice (partner of A), bob (partner of B), vera (client viewer of A),
// olga (Owner, no membership).
type bundle struct {
	db    *pgtest.DB
	fx    *pgtest.Fixtures
	scope *txscope.Scope

	tenantA, tenantB   uuid.UUID
	projectA, projectB uuid.UUID
	taskA, taskB       uuid.UUID
	alice, bob, vera   uuid.UUID
	olga               uuid.UUID
}

const (
	aliceEmail = "alice@a.example"
	bobEmail   = "bob@b.example"
	veraEmail  = "vera@a.example"
	olgaEmail  = "olga@ops.example"
)

func setup(t *testing.T, opts ...func(*txscope.Config)) *bundle {
	t.Helper()
	db := pgtest.New(t)
	fx := db.Fixtures(t)
	b := &bundle{db: db, fx: fx}
	b.tenantA = fx.Tenant(t, "tenant-a")
	b.tenantB = fx.Tenant(t, "tenant-b")
	b.projectA = fx.Project(t, b.tenantA, "Apollo")
	b.projectB = fx.Project(t, b.tenantB, "Borealis")
	b.taskA = fx.Task(t, b.tenantA, b.projectA, "a task")
	b.taskB = fx.Task(t, b.tenantB, b.projectB, "b task")
	b.alice = fx.User(t, aliceEmail)
	b.bob = fx.User(t, bobEmail)
	b.vera = fx.User(t, veraEmail)
	b.olga = fx.Owner(t, olgaEmail)
	fx.Member(t, b.tenantA, b.alice, "partner")
	fx.Member(t, b.tenantB, b.bob, "partner")
	fx.Member(t, b.tenantA, b.vera, "client_viewer")

	cfg := txscope.Config{DatabaseURL: db.RuntimeURL, AdminDatabaseURL: db.AdminURL, MaxConns: 4}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := txscope.Open(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	b.scope = s
	return b
}

func whoA() txscope.Who { return txscope.Who{Email: aliceEmail, Tenant: "tenant-a"} }
