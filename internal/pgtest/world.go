package pgtest

import (
	"testing"

	"github.com/google/uuid"
)

// The people and tenants of World.
const (
	TenantASlug = "tenant-a"
	TenantBSlug = "tenant-b"

	AliceEmail = "alice@a.example"  // partner of tenant-a
	BobEmail   = "bob@b.example"    // partner of tenant-b
	VeraEmail  = "vera@a.example"   // client viewer of tenant-a
	VicEmail   = "vic@b.example"    // client viewer of tenant-b
	OlgaEmail  = "olga@ops.example" // platform Owner, member of nothing
)

// World is the two-tenant world the integration tests of every package run
// in, so that an isolation test anywhere has the same positive control (A's
// rows, as A's members) and denial (B's rows): tenant-a and tenant-b with a
// project, a task and a comment on it each, one partner and one client
// viewer per tenant, and a platform Owner. Rows are inserted as a
// superuser, past RLS.
type World struct {
	DB *DB
	Fx *Fixtures

	TenantA, TenantB   uuid.UUID
	ProjectA, ProjectB uuid.UUID // "Apollo" (A), "Borealis" (B)
	TaskA, TaskB       uuid.UUID // "a task" (A), "b task" (B)
	CommentA, CommentB uuid.UUID // on TaskA by Alice, on TaskB by Bob

	Alice, Bob uuid.UUID // partners of A and B
	Vera, Vic  uuid.UUID // client viewers of A and B
	Olga       uuid.UUID // Owner
}

// NewWorld builds World in a fresh database (pgtest.New).
func NewWorld(t testing.TB) *World {
	t.Helper()
	db := New(t)
	fx := db.Fixtures(t)
	w := &World{DB: db, Fx: fx}
	w.TenantA = fx.Tenant(t, TenantASlug)
	w.TenantB = fx.Tenant(t, TenantBSlug)
	w.ProjectA = fx.Project(t, w.TenantA, "Apollo")
	w.ProjectB = fx.Project(t, w.TenantB, "Borealis")
	w.TaskA = fx.Task(t, w.TenantA, w.ProjectA, "a task")
	w.TaskB = fx.Task(t, w.TenantB, w.ProjectB, "b task")
	w.Alice = fx.User(t, AliceEmail)
	w.Bob = fx.User(t, BobEmail)
	w.Vera = fx.User(t, VeraEmail)
	w.Vic = fx.User(t, VicEmail)
	w.Olga = fx.Owner(t, OlgaEmail)
	fx.Member(t, w.TenantA, w.Alice, "partner")
	fx.Member(t, w.TenantB, w.Bob, "partner")
	fx.Member(t, w.TenantA, w.Vera, "client_viewer")
	fx.Member(t, w.TenantB, w.Vic, "client_viewer")
	w.CommentA = fx.Comment(t, w.TenantA, w.TaskA, w.Alice, "a comment")
	w.CommentB = fx.Comment(t, w.TenantB, w.TaskB, w.Bob, "b comment")
	return w
}
