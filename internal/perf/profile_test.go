package perf_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

var profileOut = flag.String("perf.profile", "", "BenchmarkDatabaseProfile: write the database side of a scoped read and write "+
	"(pg_stat_statements, EXPLAIN (ANALYZE, BUFFERS)) to this file; needs pg_stat_statements preloaded (make bench-profile)")

// profileOps is how many of each operation the profile runs, one client.
const profileOps = 3000

// BenchmarkDatabaseProfile is where the time goes on the database side
// (issue 14): every statement a scoped read and a scoped write run,
// nested ones included (pg_stat_statements.track = all), with their mean
// execution and planning time, next to the floor's; and EXPLAIN (ANALYZE,
// BUFFERS) of the context statement and of the page under RLS. It writes a
// text file that docs/benchmarks.md quotes.
func BenchmarkDatabaseProfile(b *testing.B) {
	if *profileOut == "" {
		b.Skip("needs -perf.profile=FILE (make bench-profile)")
	}
	ctx := context.Background()
	e := setupBench(b)
	super := pgtest.Conn(b, e.db.SuperURL)
	defer super.Close(ctx)
	for _, q := range []string{
		"CREATE EXTENSION IF NOT EXISTS pg_stat_statements", // make bench-profile preloads it
		"ALTER SYSTEM SET pg_stat_statements.track = 'all'",
		"ALTER SYSTEM SET pg_stat_statements.track_planning = on",
		"SELECT pg_reload_conf()",
	} {
		mustExec(b, super, q)
	}
	b.Cleanup(func() {
		_, _ = super.Exec(ctx, "ALTER SYSTEM RESET pg_stat_statements.track")
		_, _ = super.Exec(ctx, "ALTER SYSTEM RESET pg_stat_statements.track_planning")
		_, _ = super.Exec(ctx, "SELECT pg_reload_conf()")
	})
	// Pooled backends read the new settings when they next go idle: one
	// round of every operation, then count from zero.
	names := []string{"read/floor", "read/scoped", "write/plain", "write/scoped"}
	for _, n := range names {
		if err := runOps(ctx, poolSize, 4*poolSize, e.ops[n].fn); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := super.Exec(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for _, n := range names {
		if err := runOps(ctx, 1, profileOps, e.ops[n].fn); err != nil {
			b.Fatalf("%s: %v", n, err)
		}
	}
	b.StopTimer()

	var out strings.Builder
	fmt.Fprintf(&out, "# pg_stat_statements (track = all, track_planning = on): %d each of a scoped read, a floor read,\n", profileOps)
	fmt.Fprintf(&out, "# a scoped write and a plain write, one client, %s. Statements run at least %d times;\n", time.Now().UTC().Format("2006-01-02"), profileOps/2)
	out.WriteString("# nested = run inside a function (app.enter, app.context, a trigger). Times in µs (means).\n")
	out.WriteString("# ExecutorStart (plan set-up, expression compilation) is in neither column: it is what\n")
	out.WriteString("# a top-level statement costs beyond the sum of the statements nested in it.\n\n")
	rows, err := super.Query(ctx, `SELECT calls, mean_exec_time * 1000, mean_plan_time * 1000, plans, toplevel,
		regexp_replace(query, '\s+', ' ', 'g')
		FROM pg_stat_statements WHERE calls >= $1 ORDER BY toplevel DESC, total_exec_time DESC`, profileOps/2)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(&out, "%7s %9s %9s %6s %-9s %s\n", "calls", "exec_us", "plan_us", "plans", "level", "statement")
	for rows.Next() {
		var (
			calls, plans   int64
			execUS, planUS float64
			top            bool
			query          string
		)
		if err := rows.Scan(&calls, &execUS, &planUS, &plans, &top, &query); err != nil {
			b.Fatal(err)
		}
		level := "nested"
		if top {
			level = "top"
		}
		if len(query) > 110 {
			query = query[:110] + "…"
		}
		fmt.Fprintf(&out, "%7d %9.1f %9.1f %6d %-9s %s\n", calls, execUS, planUS, plans, level, query)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	out.WriteString("\n")
	explainContext(b, e, &out)
	if err := os.WriteFile(*profileOut, []byte(out.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}

// explainContext appends EXPLAIN (ANALYZE, BUFFERS) of the context
// statement as txscope sends it (with a read-only proof) and of the page
// it is pipelined with, as the runtime role, in one transaction, warm.
func explainContext(b *testing.B, e *benchEnv, out *strings.Builder) {
	ctx := context.Background()
	conn := pgtest.Conn(b, e.db.RuntimeURL)
	defer conn.Close(ctx)
	t := e.tenants[0]
	email, slug := e.d.MemberEmail(t, 0), e.d.TenantSlug(t)
	enter := contextStatement(b, e.db, txscope.Who{Email: email, Tenant: slug})
	readProof, writeProof := e.db.Proof(b, email, slug, true), e.db.Proof(b, email, slug, false) // valid ten minutes
	for round := 0; round < 20; round++ {                                                        // warm: plans cached, pages in shared_buffers
		last := round == 19
		tx, err := conn.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		explain := func(title, sql string, args ...any) {
			plan, err := explainRows(ctx, tx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
			if err != nil {
				b.Fatalf("%s: %v", title, err)
			}
			if last {
				fmt.Fprintf(out, "# EXPLAIN (ANALYZE, BUFFERS): %s\n%s\n", title, plan)
			}
		}
		explain("the context statement (app.enter and the timeouts)", enter,
			email, slug, true, readProof, "30000", "5000", "30000")
		explain("the page under RLS, in that context", projectPageSQL, pageSize)
		if err := tx.Rollback(ctx); err != nil {
			b.Fatal(err)
		}
		if tx, err = conn.Begin(ctx); err != nil {
			b.Fatal(err)
		}
		explain("the context statement of a write", enter,
			email, slug, false, writeProof, "30000", "5000", "30000")
		explain("ProjectCreate in that context (rolled back)",
			"INSERT INTO projects (name, description) VALUES ($1, $2) RETURNING tenant_id, id, name, description, created_at, updated_at",
			fmt.Sprintf("profile-%d", round), "")
		if err := tx.Rollback(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func explainRows(ctx context.Context, tx pgx.Tx, sql string, args ...any) (string, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n") + "\n", err
}

// contextStatement is the SQL of the statement txscope.Read sends with
// app.enter, as sent (seen by the tracer of a scope of its own), so that
// the profile explains what runs rather than a copy of it.
func contextStatement(b *testing.B, db *pgtest.DB, who txscope.Who) string {
	ctx := context.Background()
	var enter string
	rt := &pgtest.RoundTrips{Sent: func(sql string) {
		if strings.Contains(sql, "app.enter(") {
			enter = sql
		}
	}}
	s := kit.Scope(b, db, kit.Traced(rt))
	if err := s.Read(ctx, who, func(tx *txscope.Tx) error { _, err := tx.Session(ctx); return err }); err != nil {
		b.Fatal(err)
	}
	if enter == "" {
		b.Fatal("the scope sent no statement calling app.enter")
	}
	return enter
}
