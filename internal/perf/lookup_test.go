package perf_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pgtenant/pgtenant/internal/perf"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// lookupSamples is how many requests of each kind BenchmarkEnterNonMember
// times, interleaved.
const lookupSamples = 1500

// BenchmarkEnterNonMember times, for a user who is not a member, a read
// naming a tenant that exists and one naming a tenant that does not (both
// answer ErrTenantNotFound, the API's 404), interleaved one by one over
// lookupSamples requests each, and reports the median of each and their
// ratio. Before app.enter did the same index work on both paths, the
// existing tenant cost about 20 µs more (issue 10, item 7).
func BenchmarkEnterNonMember(b *testing.B) {
	db := pgtest.New(b)
	d, err := perf.NewDataset(perf.Spec{Tenants: 200, Projects: 20_000, Tasks: 0, Skew: 1, Seed: 5})
	if err != nil {
		b.Fatal(err)
	}
	load(b, db, d)
	b.ResetTimer()
	// The same on the schema before the guard (noguard_test.go), in the
	// same run: the difference this change removed.
	before := noGuardDB(b, d)
	open := func(db *pgtest.DB) *txscope.Scope {
		s, err := txscope.Open(context.Background(), txscope.Config{DatabaseURL: db.RuntimeURL, AdminDatabaseURL: db.AdminURL, MaxConns: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(s.Close)
		return s
	}
	for _, v := range []struct {
		name  string
		scope *txscope.Scope
	}{{"", open(db)}, {"before-", open(before)}} {
		exists, missing := timeLookups(b, v.scope, d)
		b.ReportMetric(exists, v.name+"exists-p50-µs")
		b.ReportMetric(missing, v.name+"missing-p50-µs")
		b.ReportMetric(exists/missing, v.name+"exists/missing")
	}
}

// timeLookups returns the median times of a non-member's read naming an
// existing tenant and a missing one, interleaved.
func timeLookups(b *testing.B, scope *txscope.Scope, d *perf.Dataset) (exists, missing float64) {
	ctx := context.Background()
	email := d.MemberEmail(0, 0)
	read := func(tenant string) (time.Duration, error) {
		start := time.Now()
		err := scope.Read(ctx, txscope.Who{Email: email, Tenant: tenant}, func(tx *txscope.Tx) error {
			_, err := tx.Session(ctx)
			return err
		})
		took := time.Since(start)
		if !errors.Is(err, txscope.ErrTenantNotFound) {
			return 0, err
		}
		return took, nil
	}
	var ex, mi []time.Duration
	for n := 0; n < b.N; n++ {
		ex, mi = ex[:0], mi[:0]
		for i := 0; i < lookupSamples+100; i++ {
			e, err := read(d.TenantSlug(1 + i%(d.Tenants-1))) // a tenant the user is not in
			if err != nil {
				b.Fatalf("existing tenant: %v", err)
			}
			m, err := read("no-such-tenant-" + d.TenantSlug(i%(d.Tenants-1)))
			if err != nil {
				b.Fatalf("missing tenant: %v", err)
			}
			if i >= 100 { // the first ones warm the statement caches
				ex, mi = append(ex, e), append(mi, m)
			}
		}
	}
	med := func(ds []time.Duration) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[len(s)/2].Nanoseconds()) / 1e3
	}
	return med(ex), med(mi)
}
