// Package kit is the shared test kit of pgtenant's integration tests: it
// opens the real scopes and services on a pgtest database, as the runtime
// and admin roles, with the round-trip tracer attached. The database
// harness, the fixtures, the two-tenant World and the tracer themselves are
// in internal/pgtest, which txscope's own internal tests can import without
// a cycle; this package adds what needs txscope and the layers above it.
package kit

import (
	"context"
	"testing"

	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Scope opens a txscope.Scope on db as the runtime role and the admin role
// (pool size 4), closed when the test ends. opts adjust the configuration
// first (a tracer, a pool of one).
func Scope(t testing.TB, db *pgtest.DB, opts ...func(*txscope.Config)) *txscope.Scope {
	t.Helper()
	cfg := txscope.Config{DatabaseURL: db.RuntimeURL, AdminDatabaseURL: db.AdminURL, MaxConns: 4}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := txscope.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("kit: open scope: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Traced sets the scope's tracer (an option of Scope).
func Traced(rt *pgtest.RoundTrips) func(*txscope.Config) {
	return func(c *txscope.Config) { c.Tracer = rt }
}
