package perf_test

import (
	"context"
	"testing"

	"github.com/pgtenant/pgtenant/internal/migrations"
	"github.com/pgtenant/pgtenant/internal/perf"
	"github.com/pgtenant/pgtenant/internal/pgtest"
)

// The scoped read without the guard, for BenchmarkScope's variants
// scoped-noguard and guard: a second database, migrated like the first and
// then taken back below 0004 (db/schema/0004_guard.down.sql), so app.enter
// runs as the caller with no proof, no session reset and no seal, and the
// helpers read the settings unchecked: the schema as it was before the
// guard. noGuardSQL adds what txscope still calls: a four-argument
// app.enter that ignores the proof, and a key for it to sign with.
const noGuardSQL = `
CREATE POLICY users_visible ON users FOR SELECT
    USING (email = (SELECT app.current_user_email()) OR id = (SELECT app.current_user_id())
           OR EXISTS (SELECT 1 FROM memberships m
                      WHERE m.user_id = users.id AND m.tenant_id = (SELECT app.current_tenant_id())));
CREATE FUNCTION app.enter(p_email text, p_tenant text, p_read_only boolean, p_proof text,
        OUT user_id uuid, OUT is_owner boolean, OUT tenant_id uuid, OUT tenant_slug text, OUT role text)
    LANGUAGE plpgsql VOLATILE
    AS $$ BEGIN
        SELECT e.user_id, e.is_owner, e.tenant_id, e.tenant_slug, e.role INTO user_id, is_owner, tenant_id, tenant_slug, role
        FROM app.enter(p_email, p_tenant, p_read_only) e;
    END $$;
CREATE FUNCTION app.context_keys(OUT id integer, OUT secret bytea, OUT not_after timestamptz) RETURNS SETOF record
    LANGUAGE sql AS $$ SELECT 1, '\x00000000000000000000000000000000'::bytea, NULL::timestamptz $$;
GRANT EXECUTE ON FUNCTION app.enter(text, text, boolean, text) TO pgtenant_app;
GRANT EXECUTE ON FUNCTION app.context_keys() TO pgtenant_admin;
`

// noGuardDB returns a database loaded with d whose schema has no guard.
func noGuardDB(tb testing.TB, d *perf.Dataset) *pgtest.DB {
	tb.Helper()
	db := pgtest.New(tb)
	r, err := migrations.New(db.OwnerURL)
	if err != nil {
		tb.Fatal(err)
	}
	versions, err := migrations.Versions()
	if err != nil {
		tb.Fatal(err)
	}
	guard := 0 // how many migrations 0004 and later make
	for _, v := range versions {
		if v >= 4 {
			guard++
		}
	}
	if _, err := r.Down(context.Background(), guard); err != nil {
		tb.Fatal(err)
	}
	mustExec(tb, pgtest.Conn(tb, db.SuperURL), noGuardSQL)
	load(tb, db, d)
	return db
}
