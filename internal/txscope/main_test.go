package txscope_test

import (
	"os"
	"testing"

	"github.com/google/uuid"

	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// bundle is pgtest.World under the names these tests use: two tenants with
// a project, a task and a comment each, and one user per role: alice (partner of A),
// bob (partner of B), vera (client viewer of A), vic (client viewer of B),
// olga (Owner, no membership).
type bundle struct {
	db    *pgtest.DB
	fx    *pgtest.Fixtures
	scope *txscope.Scope

	tenantA, tenantB   uuid.UUID
	projectA, projectB uuid.UUID
	taskA, taskB       uuid.UUID
	commentA, commentB uuid.UUID
	alice, bob, vera   uuid.UUID
	vic, olga          uuid.UUID
}

const (
	aliceEmail = pgtest.AliceEmail
	bobEmail   = pgtest.BobEmail
	veraEmail  = pgtest.VeraEmail
	olgaEmail  = pgtest.OlgaEmail
)

// countingTracer counts round trips (the kit's tracer, under this
// package's old name).
type countingTracer = pgtest.RoundTrips

func setup(t *testing.T, opts ...func(*txscope.Config)) *bundle {
	t.Helper()
	w := pgtest.NewWorld(t)
	return &bundle{
		db: w.DB, fx: w.Fx, scope: kit.Scope(t, w.DB, opts...),
		tenantA: w.TenantA, tenantB: w.TenantB,
		projectA: w.ProjectA, projectB: w.ProjectB,
		taskA: w.TaskA, taskB: w.TaskB,
		commentA: w.CommentA, commentB: w.CommentB,
		alice: w.Alice, bob: w.Bob, vera: w.Vera, vic: w.Vic, olga: w.Olga,
	}
}

func whoA() txscope.Who { return txscope.Who{Email: aliceEmail, Tenant: pgtest.TenantASlug} }
