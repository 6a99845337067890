package perf_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/perf"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// benchSpec is the data the database-level benchmarks read and write:
// every tenant has at least 20 projects, so every page is full.
var benchSpec = perf.Spec{Tenants: 100, Projects: 50_000, Tasks: 50_000, Skew: 1, Seed: 3}

// The SQL of the unscoped baselines: the same columns and order as the
// sqlc queries, tenant named explicitly instead of by RLS.
const (
	floorReadSQL = `SELECT tenant_id, id, name, description, created_at, updated_at FROM projects
WHERE tenant_id = $1 ORDER BY created_at, id LIMIT $2`
	plainWriteSQL = `INSERT INTO projects (tenant_id, name, description) VALUES ($1, $2, $3)
RETURNING tenant_id, id, name, description, created_at, updated_at`
	projectPageSQL = `SELECT tenant_id, id, name, description, created_at, updated_at FROM projects
ORDER BY created_at, id LIMIT $1`
	setConfigSQL = `SELECT pg_catalog.set_config('app.tenant_id', $1, true), pg_catalog.set_config('app.user_id', $2, true),
	pg_catalog.set_config('app.role', $3, true)`
)

const pageSize = 20

// poolSize bounds every pool of the benchmarks: the largest client count.
const poolSize = 4

// op is one operation of a benchmark; w is the client (goroutine) number,
// i the operation's sequence number.
type op struct {
	fn func(ctx context.Context, w, i int) error
	rt *pgtest.RoundTrips // the tracer of the pool fn uses (each query, batch and prepare)
}

type benchEnv struct {
	db      *pgtest.DB
	d       *perf.Dataset
	tenants []int // tenants used, round robin
	scope   *txscope.Scope
	noGuard *txscope.Scope // the same, on a database without the guard (noguard_test.go)
	floor   *pgxpool.Pool  // admin role (BYPASSRLS): the unscoped read baseline
	plainW  *pgxpool.Pool  // admin role on the no-guard database: the write baseline (no audit row demanded)
	raw     *pgxpool.Pool  // runtime role without txscope, on the no-guard database: the decompositions
	seq     atomic.Int64   // unique names for inserts
	ops     map[string]op
}

func newPool(tb testing.TB, url string, rt *pgtest.RoundTrips) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MaxConns = poolSize
	cfg.ConnConfig.Tracer = rt
	cfg.ConnConfig.RuntimeParams["application_name"] = "pgtenant-bench"
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return p
}

func setupBench(b *testing.B) *benchEnv {
	b.Helper()
	db := pgtest.New(b)
	d, err := perf.NewDataset(benchSpec)
	if err != nil {
		b.Fatal(err)
	}
	load(b, db, d)
	e := &benchEnv{db: db, d: d}
	for i := 0; i < d.Tenants; i++ {
		if d.TenantProjects(i) >= pageSize {
			e.tenants = append(e.tenants, i)
		}
	}
	scopeRT, floorRT, rawRT := &pgtest.RoundTrips{}, &pgtest.RoundTrips{}, &pgtest.RoundTrips{}
	e.scope = kit.Scope(b, db, kit.Traced(scopeRT), func(c *txscope.Config) { c.MaxConns = poolSize })
	ngDB := noGuardDB(b, d)
	noGuardRT := &pgtest.RoundTrips{}
	e.noGuard = kit.Scope(b, ngDB, kit.Traced(noGuardRT), func(c *txscope.Config) { c.MaxConns = poolSize })
	e.floor = newPool(b, db.AdminURL, floorRT)
	// The admin role's writes now need an audit row in their transaction;
	// the plain-write baseline is a bare BEGIN/INSERT/COMMIT, so it writes
	// where that rule does not exist.
	e.plainW = newPool(b, ngDB.AdminURL, floorRT)
	// The yardsticks set the context with set_config themselves: with the
	// guard that is a forgery and reads nothing, so they run where there is
	// none.
	e.raw = newPool(b, ngDB.RuntimeURL, rawRT)
	e.ops = map[string]op{
		"read/floor":               {e.floorRead, floorRT},
		"read/scoped":              {e.scopedRead, scopeRT},
		"read/scoped-noguard":      {e.noGuardRead, noGuardRT},
		"read/pipelined-setconfig": {e.pipelinedSetConfigRead, rawRT},
		"read/unpipelined":         {e.unpipelinedRead, rawRT},
		"write/plain":              {e.plainWrite, floorRT},
		"write/scoped":             {e.scopedWrite, scopeRT},
	}
	// Warm every pool connection and statement cache before timing.
	for name, o := range e.ops {
		if err := runOps(context.Background(), poolSize, 50*poolSize, o.fn); err != nil {
			b.Fatalf("warm-up %s: %v", name, err)
		}
	}
	return e
}

func (e *benchEnv) tenant(w, i int) int { return e.tenants[(i+w*7)%len(e.tenants)] }

func (e *benchEnv) who(t int) txscope.Who {
	return txscope.Who{Email: e.d.MemberEmail(t, 0), Tenant: e.d.TenantSlug(t)}
}

// scanProjects reads rows the way sqlc's generated code does.
func scanProjects(rows pgx.Rows) ([]dbgen.Project, error) {
	defer rows.Close()
	var items []dbgen.Project
	for rows.Next() {
		var p dbgen.Project
		if err := rows.Scan(&p.TenantID, &p.ID, &p.Name, &p.Description, &p.CreatedAt, &p.UpdatedAt); err != nil {
			return nil, err
		}
		items = append(items, p)
	}
	return items, rows.Err()
}

func checkPage(ps []dbgen.Project, err error) error {
	if err == nil && len(ps) != pageSize {
		err = fmt.Errorf("page of %d rows, want %d", len(ps), pageSize)
	}
	return err
}

// floorRead: the page on a bare pooled connection, unscoped, tenant named
// in the WHERE clause. One round trip.
func (e *benchEnv) floorRead(ctx context.Context, w, i int) error {
	rows, err := e.floor.Query(ctx, floorReadSQL, e.d.TenantID(e.tenant(w, i)), pageSize)
	if err != nil {
		return err
	}
	return checkPage(scanProjects(rows))
}

// scopedRead: the page through txscope.Read, as a partner of the tenant:
// app.enter pipelined with ProjectListFirst. One round trip.
func (e *benchEnv) scopedRead(ctx context.Context, w, i int) error {
	return e.scope.Read(ctx, e.who(e.tenant(w, i)), func(tx *txscope.Tx) error {
		return checkPage(tx.Q.ProjectListFirst(ctx, pageSize))
	})
}

// noGuardRead is scopedRead on the database without the guard: what the
// same read cost before app.enter demanded a proof and the helpers checked
// a seal.
func (e *benchEnv) noGuardRead(ctx context.Context, w, i int) error {
	return e.noGuard.Read(ctx, e.who(e.tenant(w, i)), func(tx *txscope.Tx) error {
		return checkPage(tx.Q.ProjectListFirst(ctx, pageSize))
	})
}

// pipelinedSetConfigRead isolates the price of RLS plus context settings
// from app.enter's identity resolution: the settings are set from values
// the client already knows, pipelined with the page (one round trip, one
// implicit transaction), under the same RLS policies. Not a safe way to
// run requests (nothing checks the identity): a yardstick only.
func (e *benchEnv) pipelinedSetConfigRead(ctx context.Context, w, i int) error {
	t := e.tenant(w, i)
	b := &pgx.Batch{}
	b.Queue(setConfigSQL, e.d.TenantID(t).String(), e.d.MemberUserID(t, 0).String(), "partner")
	b.Queue(projectPageSQL, pageSize)
	br := e.raw.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return err
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	if err := checkPage(scanProjects(rows)); err != nil {
		return err
	}
	return br.Close()
}

// unpipelinedRead is the naive wrapper the issue measured with pgbench:
// BEGIN, set_config, SELECT, COMMIT as four round trips.
func (e *benchEnv) unpipelinedRead(ctx context.Context, w, i int) error {
	t := e.tenant(w, i)
	tx, err := e.raw.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, setConfigSQL, e.d.TenantID(t).String(), e.d.MemberUserID(t, 0).String(), "partner"); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, projectPageSQL, pageSize)
	if err != nil {
		return err
	}
	if err := checkPage(scanProjects(rows)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func (e *benchEnv) name(w int) string {
	return "bench-" + strconv.Itoa(w) + "-" + strconv.FormatInt(e.seq.Add(1), 36)
}

// plainWrite: BEGIN, INSERT ... RETURNING, COMMIT on a bare pooled
// connection, tenant named explicitly. Three round trips.
func (e *benchEnv) plainWrite(ctx context.Context, w, i int) error {
	tx, err := e.plainW.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var p dbgen.Project
	if err := tx.QueryRow(ctx, plainWriteSQL, e.d.TenantID(e.tenant(w, i)), e.name(w), "").
		Scan(&p.TenantID, &p.ID, &p.Name, &p.Description, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// scopedWrite: txscope.Write with ProjectCreate: BEGIN and app.enter in
// one round trip, the INSERT, the COMMIT.
func (e *benchEnv) scopedWrite(ctx context.Context, w, i int) error {
	return e.scope.Write(ctx, e.who(e.tenant(w, i)), func(tx *txscope.Tx) error {
		_, err := tx.Q.ProjectCreate(ctx, dbgen.ProjectCreateParams{Name: e.name(w)})
		return err
	})
}

// runOps runs fn n times over the given number of concurrent clients.
func runOps(ctx context.Context, clients, n int, fn func(ctx context.Context, w, i int) error) error {
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, w, i); err != nil {
					errOnce.Do(func() { firstErr = err })
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// measure times b.N runs of target over clients. When ref is set it also
// runs ref b.N times, untimed, in interleaved chunks (so drift during the
// run hits both alike), and reports the throughput ratio target/ref as
// "x-<refName>": 1.0 means as fast as the reference, 0.5 half as fast.
func measure(b *testing.B, clients int, target op, ref *op, refName string) {
	ctx := context.Background()
	const chunks = 4
	var refTime time.Duration
	rt0 := target.rt.Load()
	var refRT int64
	b.ResetTimer()
	done := 0
	for c := 1; c <= chunks; c++ {
		n := b.N*c/chunks - done
		if n == 0 {
			continue
		}
		if ref != nil {
			b.StopTimer()
			r0 := ref.rt.Load()
			start := time.Now()
			if err := runOps(ctx, clients, n, ref.fn); err != nil {
				b.Fatal(err)
			}
			refTime += time.Since(start)
			refRT += ref.rt.Load() - r0
			b.StartTimer()
		}
		if err := runOps(ctx, clients, n, target.fn); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	b.StopTimer()
	rt := target.rt.Load() - rt0
	if ref != nil && ref.rt == target.rt {
		rt -= refRT
	}
	elapsed := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/elapsed, "req/s")
	b.ReportMetric(float64(rt)/float64(b.N), "roundtrips/op")
	if ref != nil {
		b.ReportMetric(refTime.Seconds()/elapsed, "x-"+refName)
	}
}

// BenchmarkScope prices tenant isolation at the database: a 20-row page of
// projects and a one-row insert, each against its unscoped baseline run in
// the same benchmark (interleaved), at 1 and 4 concurrent clients.
//
//	op=read  variant=floor                the page on a bare pooled connection, WHERE tenant_id = $1
//	op=read  variant=scoped               txscope.Read: app.enter pipelined with the page (x-floor)
//	op=read  variant=scoped-noguard       the same on a database without the guard (x-floor)
//	op=read  variant=guard                the scoped read against scoped-noguard, interleaved (x-noguard)
//	op=read  variant=pipelined-setconfig  set_config pipelined with the page, no identity check (x-floor)
//	op=read  variant=unpipelined          BEGIN; set_config; page; COMMIT: four round trips (x-floor)
//	op=write variant=plain                BEGIN; INSERT ... RETURNING; COMMIT, unscoped
//	op=write variant=scoped               txscope.Write + ProjectCreate (x-plain)
//
// Ratios are throughput ratios (reference time / own time), so the
// targets read directly: scoped read x-floor >= 0.9; scoped write costs at
// most one round trip more than plain.
func BenchmarkScope(b *testing.B) {
	e := setupBench(b)
	floor, plain, noGuard := e.ops["read/floor"], e.ops["write/plain"], e.ops["read/scoped-noguard"]
	for _, clients := range []int{1, 4} {
		for _, v := range []struct {
			op, variant string
			ref         *op
			refName     string
		}{
			{"read", "floor", nil, ""},
			{"read", "scoped", &floor, "floor"},
			{"read", "scoped-noguard", &floor, "floor"},
			{"read", "guard", &noGuard, "noguard"},
			{"read", "pipelined-setconfig", &floor, "floor"},
			{"read", "unpipelined", &floor, "floor"},
			{"write", "plain", nil, ""},
			{"write", "scoped", &plain, "plain"},
		} {
			target := e.ops[v.op+"/"+v.variant]
			if v.variant == "guard" {
				target = e.ops["read/scoped"]
			}
			b.Run(fmt.Sprintf("op=%s/clients=%d/variant=%s", v.op, clients, v.variant), func(b *testing.B) {
				measure(b, clients, target, v.ref, v.refName)
			})
		}
	}
}
