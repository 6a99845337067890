package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/pgtenant/pgtenant/internal/ctxproof"
)

// Proof returns a context proof for app.enter(email, tenant, readOnly,
// proof), valid for ten minutes, signed with the database's current context
// key (read as a superuser): what raw-SQL tests running as the runtime role
// pass where the server would pass its own. The code under test never sees
// this path.
func (d *DB) Proof(t testing.TB, email, tenant string, readOnly bool) string {
	t.Helper()
	ctx := context.Background()
	conn := Conn(t, d.SuperURL)
	defer conn.Close(ctx)
	var id int32
	var secret []byte
	if err := conn.QueryRow(ctx, `SELECT id, secret FROM app_private.context_keys
		WHERE not_after IS NULL ORDER BY id DESC LIMIT 1`).Scan(&id, &secret); err != nil {
		t.Fatalf("pgtest: read the context key: %v", err)
	}
	return ctxproof.Sign(id, secret, email, tenant, readOnly, time.Now().Add(10*time.Minute))
}
