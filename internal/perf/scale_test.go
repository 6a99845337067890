package perf_test

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/perf"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// scaleSizes are the dataset sizes of BenchmarkScale: N projects and N
// tasks over up to 10k tenants. The default is small so that CI's
// -benchtime=1x run stays quick; make bench-scale passes 100k, 1M and 10M.
var scaleSizes = flag.String("perf.scale", "20000", "comma-separated sizes (projects, and as many tasks) for BenchmarkScale")

// scaleTenants is the number of tenants at every size (fewer for tiny sizes).
const scaleTenants = 10_000

// deepCursors is how many deep keyset positions the deep-page variant
// cycles through.
const deepCursors = 64

func parseSizes(tb testing.TB) []int64 {
	var out []int64
	for _, f := range strings.Split(*scaleSizes, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || n < 1000 {
			tb.Fatalf("-perf.scale: bad size %q (want integers >= 1000)", f)
		}
		out = append(out, n)
	}
	return out
}

func human(n int64) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.FormatInt(n/1_000_000, 10) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.FormatInt(n/1000, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}

var (
	scaleRounds  = flag.Int("perf.scale.rounds", 1, "BenchmarkScale: interleaved measurement rounds over all sizes")
	scaleSamples = flag.Int("perf.scale.samples", 50, "BenchmarkScale: requests per page variant, size and round")
	scalePrewarm = flag.Bool("perf.scale.prewarm", false, "BenchmarkScale: load the read path's tables and indexes into shared_buffers (pg_prewarm) before measuring")
)

// BenchmarkScale measures a tenant's pages as the tables grow. It loads one
// fresh skewed dataset per size (tenant 0 holds about 10% of all rows),
// then measures in rounds that interleave the sizes, so drift on a shared
// machine hits every size alike. Through txscope.Read as a partner of the
// tenant, at one client:
//
//	page=first-largest  the first page of tenant 0
//	page=deep-largest   a keyset page 50-100% of the way through tenant 0
//	page=first-any      the first page of a tenant picked at random (cold index pages)
//
// and their bare twins, the same query with WHERE tenant_id in place of the
// policies on the BYPASSRLS pool (no explicit transaction, no app.enter), so that
// scoped minus bare is what isolation costs, apart from the page's own cost:
//
//	page=first-largest-bare  tenant 0's first page
//	page=deep-largest-bare   the page after the same deep cursors as deep-largest
//	page=first-any-bare      a random tenant's first page
//	page=enter-any           app.enter alone (identity, tenant, membership) for a random tenant
//
// Each sub-benchmark rows=N/page=P/round=R reports one round: the p50 and
// p99 latency in microseconds (p50-us, p99-us) and ns/op as the mean.
// Reports take the median over rounds (as benchstat does over -count) and
// pair a page with its bare twin by round (cmd/benchreport).
func BenchmarkScale(b *testing.B) {
	sizes := parseSizes(b)
	envs := make([]*scaleEnv, len(sizes))
	for i, n := range sizes {
		envs[i] = setupScale(b, n)
	}
	type key struct {
		size    int
		variant string
	}
	type sample struct{ mean, p50, p99 float64 }
	got := map[key][]sample{}
	ctx := context.Background()
	for r := 0; r < *scaleRounds; r++ {
		for i, s := range envs {
			for _, v := range s.variants() {
				lat := make([]time.Duration, *scaleSamples)
				var sum time.Duration
				for j := range lat {
					start := time.Now()
					if err := v.fn(ctx, j); err != nil {
						b.Fatalf("rows=%s page=%s: %v", human(sizes[i]), v.name, err)
					}
					lat[j] = time.Since(start)
					sum += lat[j]
				}
				slices.Sort(lat)
				k := key{i, v.name}
				got[k] = append(got[k], sample{
					mean: float64(sum.Nanoseconds()) / float64(len(lat)),
					p50:  float64(lat[len(lat)*50/100].Nanoseconds()) / 1e3,
					p99:  float64(lat[len(lat)*99/100].Nanoseconds()) / 1e3,
				})
			}
		}
	}
	for i, n := range sizes {
		for _, v := range envs[i].variants() {
			for r, s := range got[key{i, v.name}] {
				b.Run(fmt.Sprintf("rows=%s/page=%s/round=%d", human(n), v.name, r+1), func(b *testing.B) {
					b.ReportMetric(s.mean, "ns/op")
					b.ReportMetric(s.p50, "p50-us")
					b.ReportMetric(s.p99, "p99-us")
					b.ReportMetric(float64(*scaleSamples), "samples")
				})
			}
		}
	}
}

type scaleVariant struct {
	name string
	fn   func(ctx context.Context, i int) error
}

func (s *scaleEnv) variants() []scaleVariant {
	return []scaleVariant{
		{"first-largest", s.firstLargest}, {"deep-largest", s.deepLargest}, {"first-any", s.firstAny},
		{"first-largest-bare", s.firstLargestBare}, {"deep-largest-bare", s.deepLargestBare},
		{"first-any-bare", s.firstAnyBare}, {"enter-any", s.enterAny},
	}
}

type scaleEnv struct {
	d       *perf.Dataset
	scope   *txscope.Scope
	bare    *pgxpool.Pool // BYPASSRLS admin role
	cursors []int64       // positions in tenant 0's projects
	rnd     uint64
}

func setupScale(b testing.TB, n int64) *scaleEnv {
	b.Helper()
	tenants := int(min(scaleTenants, n/10))
	d, err := perf.NewDataset(perf.Spec{Tenants: tenants, Projects: n, Tasks: n, Skew: 1, Seed: 10})
	if err != nil {
		b.Fatal(err)
	}
	db := pgtest.New(b)
	took := load(b, db, d)
	b.Logf("loaded %d projects and %d tasks over %d tenants (largest: %d projects) in %s",
		n, n, tenants, d.TenantProjects(0), took.Round(time.Second))
	if *resultsDir != "" {
		var sb string
		if err := pgtest.Conn(b, db.SuperURL).QueryRow(context.Background(), "SHOW shared_buffers").Scan(&sb); err != nil {
			b.Fatal(err)
		}
		line := fmt.Sprintf("rows=%s projects=%d tasks=%d tenants=%d largest=%d load=%s shared_buffers=%s\n",
			human(n), n, n, tenants, d.TenantProjects(0), took.Round(time.Second), sb)
		appendFile(b, filepath.Join(*resultsDir, "scale-load.txt"), line)
	}
	s := &scaleEnv{d: d, rnd: 1}
	s.scope = kit.Scope(b, db, func(c *txscope.Config) { c.MaxConns = 2 })
	// The bare twins plan as the scoped pages do (txscope sets
	// force_generic_plan per transaction): a LIMIT $n query otherwise gets
	// a custom plan, planned on every execution, and the difference would
	// measure planning, not isolation.
	s.bare = newPool(b, withParam(b, db.AdminURL, "plan_cache_mode", "force_generic_plan"), &pgtest.RoundTrips{})
	if *scalePrewarm {
		super := pgtest.Conn(b, db.SuperURL)
		mustExec(b, super, "CREATE EXTENSION IF NOT EXISTS pg_prewarm")
		mustExec(b, super, `SELECT pg_prewarm(c.oid) FROM pg_class c
			WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')
			  AND (c.relname IN ('tenants', 'users', 'memberships', 'projects')
			       OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN
			                    ('tenants'::regclass, 'users'::regclass, 'memberships'::regclass, 'projects'::regclass)))`)
	}
	p := d.TenantProjects(0)
	for i := 0; i < deepCursors; i++ {
		s.cursors = append(s.cursors, p/2+int64(splitmixTest(uint64(i)+1)%uint64(p/2-pageSize)))
	}
	// Warm the connections and statement caches.
	for i := 0; i < 50; i++ {
		for _, v := range s.variants() {
			if err := v.fn(context.Background(), i); err != nil {
				b.Fatal(err)
			}
		}
	}
	return s
}

func appendFile(tb testing.TB, path, line string) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		tb.Fatal(err)
	}
}

func splitmixTest(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func (s *scaleEnv) who(t int) txscope.Who {
	return txscope.Who{Email: s.d.MemberEmail(t, 0), Tenant: s.d.TenantSlug(t)}
}

// firstLargest reads tenant 0's first page and checks it.
func (s *scaleEnv) firstLargest(ctx context.Context, i int) error {
	ps, err := s.scopedFirst(ctx, 0)
	return checkPageFrom(s.d, 0, 0, ps, err)
}

// scopedFirst is tenant t's first page, read as a member of t.
func (s *scaleEnv) scopedFirst(ctx context.Context, t int) (ps []dbgen.Project, err error) {
	err = s.scope.Read(ctx, s.who(t), func(tx *txscope.Tx) error {
		ps, err = tx.Q.ProjectListFirst(ctx, pageSize)
		return err
	})
	return ps, err
}

// deepCursor is the i-th deep keyset position in tenant 0.
func (s *scaleEnv) deepCursor(i int) int64 { return s.cursors[i%len(s.cursors)] }

// deepLargest reads the page after a deep cursor in tenant 0.
func (s *scaleEnv) deepLargest(ctx context.Context, i int) error {
	j := s.deepCursor(i)
	ps, err := s.scopedDeep(ctx, 0, j)
	return checkPageFrom(s.d, 0, j+1, ps, err)
}

// scopedDeep is the scoped page after tenant 0's j-th project, read as a
// member of tenant t.
func (s *scaleEnv) scopedDeep(ctx context.Context, t int, j int64) (ps []dbgen.Project, err error) {
	err = s.scope.Read(ctx, s.who(t), func(tx *txscope.Tx) error {
		ps, err = tx.Q.ProjectListAfter(ctx, dbgen.ProjectListAfterParams{
			AfterCreatedAt: s.d.ProjectCreatedAt(0, j), AfterID: s.d.ProjectID(0, j), Lim: pageSize,
		})
		return err
	})
	return ps, err
}

// randomTenant advances the generator and picks a pseudo-random tenant.
func (s *scaleEnv) randomTenant() int {
	s.rnd = splitmixTest(s.rnd)
	return int(s.rnd % uint64(s.d.Tenants))
}

// firstAny reads the first page of a pseudo-random tenant.
func (s *scaleEnv) firstAny(ctx context.Context, i int) error {
	t := s.randomTenant()
	ps, err := s.scopedFirst(ctx, t)
	return checkFirstPage(s.d, t, ps, err)
}

// deepAfterSQL is ProjectListAfter with WHERE tenant_id in place of the
// policies: the scoped deep page's query minus RLS.
const deepAfterSQL = `SELECT tenant_id, id, name, description, created_at, updated_at FROM projects
WHERE tenant_id = $1 AND (created_at, id) > ($2::timestamptz, $3::uuid)
ORDER BY created_at, id LIMIT $4`

// bareQuery runs sql on the BYPASSRLS pool and scans the projects.
func (s *scaleEnv) bareQuery(ctx context.Context, sql string, args ...any) ([]dbgen.Project, error) {
	rows, err := s.bare.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return scanProjects(rows)
}

// firstLargestBare reads tenant 0's first page unscoped.
func (s *scaleEnv) firstLargestBare(ctx context.Context, i int) error {
	ps, err := s.bareQuery(ctx, floorReadSQL, s.d.TenantID(0), pageSize)
	return checkPageFrom(s.d, 0, 0, ps, err)
}

// deepLargestBare reads the page after deepLargest's i-th cursor unscoped.
func (s *scaleEnv) deepLargestBare(ctx context.Context, i int) error {
	j := s.deepCursor(i)
	ps, err := s.bareDeep(ctx, j)
	return checkPageFrom(s.d, 0, j+1, ps, err)
}

// bareDeep is the bare page after tenant 0's j-th project.
func (s *scaleEnv) bareDeep(ctx context.Context, j int64) ([]dbgen.Project, error) {
	return s.bareQuery(ctx, deepAfterSQL, s.d.TenantID(0), s.d.ProjectCreatedAt(0, j), s.d.ProjectID(0, j), pageSize)
}

// firstAnyBare reads a pseudo-random tenant's first page unscoped: the
// part of firstAny that is the page itself. It draws other tenants than
// firstAny (the generator moves on), so neither warms the other's pages.
func (s *scaleEnv) firstAnyBare(ctx context.Context, i int) error {
	t := s.randomTenant()
	ps, err := s.bareQuery(ctx, floorReadSQL, s.d.TenantID(t), pageSize)
	return checkFirstPage(s.d, t, ps, err)
}

// enterAny runs app.enter alone (a Read scope's Session) for a
// pseudo-random member of a pseudo-random tenant.
func (s *scaleEnv) enterAny(ctx context.Context, i int) error {
	t := s.randomTenant()
	k := int64(s.rnd>>32) % s.d.TenantMembers(t)
	who := txscope.Who{Email: s.d.MemberEmail(t, k), Tenant: s.d.TenantSlug(t)}
	return s.scope.Read(ctx, who, func(tx *txscope.Tx) error {
		sess, err := tx.Session(ctx)
		if err == nil && sess.TenantID != s.d.TenantID(t) {
			err = fmt.Errorf("app.enter granted tenant %s, want %s", sess.TenantID, s.d.TenantID(t))
		}
		return err
	})
}

// checkFirstPage checks that ps is tenant t's first page: a full page, or
// all of a smaller tenant's projects, starting at its first project.
func checkFirstPage(d *perf.Dataset, t int, ps []dbgen.Project, err error) error {
	if err != nil {
		return err
	}
	if want := min(int64(pageSize), d.TenantProjects(t)); int64(len(ps)) != want {
		return fmt.Errorf("tenant %d: %d rows, want %d", t, len(ps), want)
	}
	if len(ps) > 0 && ps[0].ID != d.ProjectID(t, 0) {
		return fmt.Errorf("tenant %d: wrong first row", t)
	}
	return nil
}

// checkPageFrom checks that ps is a full page of tenant t starting at its
// j-th project.
func checkPageFrom(d *perf.Dataset, t int, j int64, ps []dbgen.Project, err error) error {
	if err != nil {
		return err
	}
	if len(ps) != pageSize {
		return fmt.Errorf("page of %d rows, want %d", len(ps), pageSize)
	}
	if ps[0].ID != d.ProjectID(t, j) || ps[0].TenantID != d.TenantID(t) {
		return fmt.Errorf("page starts at the wrong row (want project %d of tenant %d)", j, t)
	}
	return nil
}

// withParam adds a run-time parameter to a connection URL (pgx sends the
// query parameters it does not know as server settings).
func withParam(tb testing.TB, rawURL, name, value string) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}
