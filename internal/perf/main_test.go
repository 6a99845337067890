package perf_test

import (
	"context"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgtenant/pgtenant/internal/perf"
	"github.com/pgtenant/pgtenant/internal/pgtest"
)

// resultsDir, when set, is where the benchmarks that produce more than
// testing.B metrics (the HTTP run) write their raw results.
var resultsDir = flag.String("perf.results", "", "directory for raw results (docs/bench when run by make)")

// experimentSQL names SQL files applied as the superuser after the
// benchmark data is loaded: proposed schema changes measured on a scratch
// database (bench/experiments), never applied by migrations.
var experimentSQL = flag.String("perf.sql", "", "comma-separated SQL files applied as superuser before timing (experiments; see bench/experiments)")

func TestMain(m *testing.M) {
	if os.Getenv(baselineEnv) != "" {
		// A helper process of BenchmarkHTTP: it needs no server of its own.
		os.Exit(m.Run())
	}
	os.Exit(pgtest.Main(m))
}

// load copies d into db as the superuser, in one transaction: TRUNCATE,
// then COPY ... WITH (FREEZE) per table with the foreign-key triggers off
// (session_replication_role = replica; the generated rows are consistent by
// construction), then ANALYZE. It returns how long the load took.
func load(tb testing.TB, db *pgtest.DB, d *perf.Dataset) time.Duration {
	tb.Helper()
	ctx := context.Background()
	start := time.Now()
	conn := pgtest.Conn(tb, db.SuperURL)
	mustExec(tb, conn, "SET session_replication_role = replica")
	mustExec(tb, conn, "SET synchronous_commit = off")
	mustExec(tb, conn, "SET maintenance_work_mem = '1GB'")
	mustExec(tb, conn, "BEGIN")
	mustExec(tb, conn, "TRUNCATE tenants, users, memberships, projects, tasks, task_comments")
	for _, t := range d.Tables() {
		pr, pw := io.Pipe()
		go func() {
			_, err := t.WriteTo(pw)
			pw.CloseWithError(err)
		}()
		tag, err := conn.PgConn().CopyFrom(ctx, pr, t.CopySQL(true))
		pr.Close()
		if err != nil {
			tb.Fatalf("load %s: %v", t.Name, err)
		}
		if tag.RowsAffected() != t.Rows {
			tb.Fatalf("load %s: %d rows, want %d", t.Name, tag.RowsAffected(), t.Rows)
		}
	}
	mustExec(tb, conn, "COMMIT")
	mustExec(tb, conn, "SET session_replication_role = DEFAULT")
	mustExec(tb, conn, "VACUUM (ANALYZE) tenants, users, memberships, projects, tasks, task_comments")
	took := time.Since(start)
	applyExperiments(tb, conn)
	return took
}

// applyExperiments runs the -perf.sql files, if any.
func applyExperiments(tb testing.TB, conn *pgx.Conn) {
	tb.Helper()
	if *experimentSQL == "" {
		return
	}
	for _, path := range strings.Split(*experimentSQL, ",") {
		sql, err := os.ReadFile(strings.TrimSpace(path))
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := conn.Exec(context.Background(), string(sql)); err != nil {
			tb.Fatalf("experiment %s: %v", path, err)
		}
		tb.Logf("applied experiment %s", path)
	}
}

func mustExec(tb testing.TB, conn *pgx.Conn, sql string, args ...any) {
	tb.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}
