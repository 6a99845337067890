package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/api"
	"github.com/pgtenant/pgtenant/internal/limits"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/tenancy"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Reliability of the API under faults and load (docs/reliability.md): a
// backend killed mid-transaction, an exhausted pool, a tenant or user over
// its share of the pool, request rates, and one tenant's requests queued
// on a locked row. Each asserts the status and problem the client gets,
// how soon, and that nothing leaked or was half-written.

// withScope adjusts the scope of the app under test.
func withScope(opts ...func(*txscope.Config)) func(*kit.AppConfig, *api.Config) {
	return func(c *kit.AppConfig, _ *api.Config) { c.ScopeOptions = append(c.ScopeOptions, opts...) }
}

// lockRow holds a row lock on the project as the superuser (an operator's
// psql session, a slow migration, another service) until the returned
// function runs or the test ends.
func lockRow(t *testing.T, f *fixture, project uuid.UUID) (unlock func()) {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.Conn(t, f.DB.SuperURL)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", project)
	require.NoError(t, err)
	var once sync.Once
	unlock = func() { once.Do(func() { _ = tx.Rollback(ctx) }) }
	t.Cleanup(unlock)
	return unlock
}

// lockWaiters counts the runtime role's backends waiting for a lock.
func lockWaiters(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = $1 AND wait_event_type = 'Lock'", pgtest.RuntimeRole).Scan(&n))
	return n
}

// requireRefusal checks a 429 or 503 problem: its code, a Retry-After of
// whole seconds, and nothing internal in the body.
func requireRefusal(t *testing.T, r kit.Response, status int, code tenancy.Code) {
	t.Helper()
	require.Equal(t, status, r.Status, string(r.Body))
	require.Equal(t, code, r.Problem(t).Code)
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", r.Header.Get("Retry-After"))
	require.GreaterOrEqual(t, ra, 1)
	for _, s := range []string{"SQLSTATE", "terminat", "pgx", "txscope", "57P01", "relation", "lock"} {
		require.NotContains(t, string(r.Body), s)
	}
}

// TestKilledBackendMidTransaction: the backend of a write is terminated
// (pg_terminate_backend, as an operator or the OOM killer would) while its
// transaction waits on a row lock. That request fails cleanly: 503
// unavailable with Retry-After, no detail; its write did not happen; the
// pool replaces the connection and the next requests succeed.
func TestKilledBackendMidTransaction(t *testing.T) {
	t.Parallel()
	f := setup(t)
	su := super(t, f)
	unlock := lockRow(t, f, f.ProjectA)
	path := "/v1/tenants/tenant-a/projects/" + f.ProjectA.String()

	got := make(chan kit.Response, 1)
	go func() { got <- f.Do(t, alice, "PATCH", path, map[string]string{"name": "never written"}) }()
	var pid int32
	require.Eventually(t, func() bool {
		err := su.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND usename = $1 AND wait_event_type = 'Lock' LIMIT 1`, pgtest.RuntimeRole).Scan(&pid)
		return err == nil
	}, 5*time.Second, 5*time.Millisecond, "the PATCH waits on the lock")
	var killed bool
	require.NoError(t, su.QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", pid).Scan(&killed))
	require.True(t, killed)
	start := time.Now()
	r := <-got
	requireRefusal(t, r, 503, tenancy.CodeUnavailable)
	require.Less(t, time.Since(start), time.Second, "the request ended with its backend")
	unlock()

	var name string
	require.NoError(t, su.QueryRow(context.Background(), "SELECT name FROM projects WHERE id = $1", f.ProjectA).Scan(&name))
	require.Equal(t, "Apollo", name, "the killed transaction wrote nothing")
	for i := range 10 { // the pool recovers: more requests than the pool has connections
		who, tenant := alice, "tenant-a"
		if i%2 == 1 {
			who, tenant = bob, "tenant-b"
		}
		r := f.Do(t, who, "GET", "/v1/tenants/"+tenant+"/projects", nil)
		require.Equal(t, 200, r.Status, string(r.Body))
	}
	r = f.Do(t, alice, "PATCH", path, map[string]string{"name": "Apollo 2"})
	require.Equal(t, 200, r.Status, string(r.Body))
}

// TestPoolExhaustion: with every pool connection held (two writes waiting
// on locked rows), a third request waits DB_ACQUIRE_TIMEOUT for a
// connection, not its whole deadline, and gets 503 unavailable with
// Retry-After; when the locks go, the held requests finish and the pool
// serves again.
func TestPoolExhaustion(t *testing.T) {
	t.Parallel()
	f := setup(t, withScope(func(c *txscope.Config) {
		c.MaxConns, c.AcquireTimeout, c.LockTimeout = 2, 200*time.Millisecond, 10*time.Second
		c.TenantShare, c.UserShare = -1, -1 // this test is about the pool, not the shares
	}))
	su := super(t, f)
	unlockA, unlockB := lockRow(t, f, f.ProjectA), lockRow(t, f, f.ProjectB)
	held := make(chan kit.Response, 2)
	go func() {
		held <- f.Do(t, alice, "PATCH", "/v1/tenants/tenant-a/projects/"+f.ProjectA.String(), map[string]string{"name": "A2"})
	}()
	go func() {
		held <- f.Do(t, bob, "PATCH", "/v1/tenants/tenant-b/projects/"+f.ProjectB.String(), map[string]string{"name": "B2"})
	}()
	require.Eventually(t, func() bool { return lockWaiters(t, su) == 2 }, 5*time.Second, 5*time.Millisecond)

	start := time.Now()
	r := f.Do(t, vera, "GET", "/v1/tenants/tenant-a/projects", nil)
	waited := time.Since(start)
	requireRefusal(t, r, 503, tenancy.CodeUnavailable)
	require.GreaterOrEqual(t, waited, 200*time.Millisecond, "it waited for a connection")
	require.Less(t, waited, time.Second, "for the acquire bound, not the request's 10 s")

	unlockA()
	unlockB()
	for range 2 {
		r := <-held
		require.Equal(t, 200, r.Status, string(r.Body))
	}
	require.Equal(t, 200, f.Do(t, vera, "GET", "/v1/tenants/tenant-a/projects", nil).Status, "the pool serves again")
}

// TestShareLimits: a user, and a tenant, hold at most their share of the
// pool; a request past it waits the acquire bound and gets 429
// concurrency_limited, while another user of the tenant (user share) and
// another tenant (tenant share) are served at once.
func TestShareLimits(t *testing.T) {
	t.Parallel()
	f := setup(t, withScope(func(c *txscope.Config) {
		c.MaxConns, c.AcquireTimeout, c.LockTimeout = 6, time.Second, 10*time.Second
		c.TenantShare, c.UserShare = 3, 2
	}))
	carol := "carol@a.example"
	f.Fx.Member(t, f.TenantA, f.Fx.User(t, carol), "partner")
	su := super(t, f)
	unlock := lockRow(t, f, f.ProjectA)
	patch := func(who string) kit.Response {
		return f.Do(t, who, "PATCH", "/v1/tenants/tenant-a/projects/"+f.ProjectA.String(), map[string]string{"name": "A2"})
	}
	held := make(chan kit.Response, 3)
	for range 2 {
		go func() { held <- patch(alice) }()
	}
	require.Eventually(t, func() bool { return lockWaiters(t, su) == 2 }, 5*time.Second, 5*time.Millisecond)

	// Alice holds her share (2): her next request is refused after the
	// bound; Carol, in the same tenant, still gets in.
	start := time.Now()
	requireRefusal(t, f.Do(t, alice, "GET", "/v1/tenants/tenant-a/projects", nil), 429, tenancy.CodeConcurrencyLimited)
	require.GreaterOrEqual(t, time.Since(start), time.Second, "after waiting the acquire bound")
	require.Equal(t, 200, f.Do(t, carol, "GET", "/v1/tenants/tenant-a/projects", nil).Status, "another user of the tenant")

	// Carol's write makes three for tenant A, its share: Vera is refused
	// in tenant A; Bob, in tenant B, is served at once.
	go func() { held <- patch(carol) }()
	require.Eventually(t, func() bool { return lockWaiters(t, su) == 3 }, 5*time.Second, 5*time.Millisecond)
	requireRefusal(t, f.Do(t, vera, "GET", "/v1/tenants/tenant-a/projects", nil), 429, tenancy.CodeConcurrencyLimited)
	requireRefusal(t, f.Do(t, vera, "GET", "/v1/tenants/"+f.TenantA.String()+"/projects", nil), 429, tenancy.CodeConcurrencyLimited) // by id: the same share
	start = time.Now()
	require.Equal(t, 200, f.Do(t, bob, "GET", "/v1/tenants/tenant-b/projects", nil).Status, "another tenant")
	require.Less(t, time.Since(start), 500*time.Millisecond, "without waiting for the acquire bound (1 s)")
	require.Equal(t, 3, lockWaiters(t, su), "tenant A never held more than its share")

	unlock()
	for range 3 {
		require.Equal(t, 200, (<-held).Status)
	}
	require.Equal(t, 200, f.Do(t, vera, "GET", "/v1/tenants/tenant-a/projects", nil).Status, "shares are given back")
}

// TestRateLimits: per-user and per-tenant token buckets. Past a user's
// burst, its requests get 429 rate_limited with Retry-After while another
// user of the tenant is served; past the tenant's, every user of it is
// refused (by slug and by id alike) while another tenant is served; after
// Retry-After the user is served again. Nothing reaches the database while
// refused.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	f := setup(t, withScope(func(c *txscope.Config) {
		// Slow refills (one token in 2 s), so the test's own pace cannot
		// refill a bucket between the requests that empty it.
		c.UserRate = limits.Rate{PerSecond: 0.5, Burst: 4}
		c.TenantRate = limits.Rate{PerSecond: 0.5, Burst: 7}
	}))
	list := func(who, tenant string) kit.Response {
		return f.Do(t, who, "GET", "/v1/tenants/"+tenant+"/projects", nil)
	}
	for i := range 4 {
		require.Equal(t, 200, list(alice, "tenant-a").Status, "alice's burst, request %d", i)
	}
	f.Queries.Reset()
	r := list(alice, "tenant-a")
	requireRefusal(t, r, 429, tenancy.CodeRateLimited)
	require.Zero(t, f.Queries.Load(), "a refused request runs no query")
	for range 3 {
		require.Equal(t, 200, list(vera, "tenant-a").Status, "another user of the tenant")
	}
	// Tenant A's burst (7) is spent: Olga, an Owner with a fresh user
	// bucket, is refused there, by slug and by id; tenant B is served.
	requireRefusal(t, list(olga, "tenant-a"), 429, tenancy.CodeRateLimited)
	requireRefusal(t, list(olga, f.TenantA.String()), 429, tenancy.CodeRateLimited)
	require.Equal(t, 200, list(bob, "tenant-b").Status, "another tenant")

	ra, _ := strconv.Atoi(r.Header.Get("Retry-After"))
	time.Sleep(time.Duration(ra) * time.Second)
	require.Equal(t, 200, list(alice, "tenant-a").Status, "served again after Retry-After")
}

// latencies runs sequential reads of tenant B as bob over HTTP for d and
// returns their latencies; any answer but 200 fails the test unless
// tolerate is set, in which case failures count as their latency too.
func latencies(t *testing.T, base string, d time.Duration) (lat []time.Duration, failures int) {
	t.Helper()
	client := &http.Client{Timeout: 15 * time.Second}
	for end := time.Now().Add(d); time.Now().Before(end); {
		req, _ := http.NewRequest("GET", base+"/v1/tenants/tenant-b/projects", nil)
		req.Header.Set(kit.HeaderEmail, bob)
		start := time.Now()
		resp, err := client.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(start))
		if resp.StatusCode != 200 {
			failures++
		}
	}
	return lat, failures
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestFairnessUnderALockedRow is the finding of issue 12: one tenant's
// writes queued on a locked row pinned every pool connection while
// another tenant's reads stalled for seconds. Tenant A's two partners send
// writes to a row a superuser holds locked, 16 at a time, for 3 s: they
// fill tenant A's share (half the pool) and no more, each ends within its
// lock timeouts (503) or the acquire bound (429), and tenant B's reads over
// loopback keep a median within twice their idle median.
//
// The control runs the same with the old settings (no shares, a lock
// timeout longer than the hold): tenant A takes the whole pool and tenant
// B's reads fail or stall for the acquire bound.
func TestFairnessUnderALockedRow(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, fair bool) (idle, loaded []time.Duration, loadedFailures, maxWaiters int) {
		f := setup(t, withScope(func(c *txscope.Config) {
			c.MaxConns = 10
			if !fair {
				c.TenantShare, c.UserShare, c.LockTimeout = -1, -1, 30*time.Second
			}
		}))
		carol := "carol@a.example"
		f.Fx.Member(t, f.TenantA, f.Fx.User(t, carol), "partner")
		srv := httptest.NewServer(f.Handler)
		defer srv.Close()
		su := super(t, f)

		latencies(t, srv.URL, 300*time.Millisecond) // warm the pool and the statement caches
		if fair {
			idle, _ = latencies(t, srv.URL, time.Second)
		}

		unlock := lockRow(t, f, f.ProjectA)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[string]int{}
		var slowest time.Duration
		for i := range 16 {
			who := alice
			if i%2 == 1 {
				who = carol
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Timeout: 40 * time.Second}
				for ctx.Err() == nil {
					req, _ := http.NewRequest("PATCH", srv.URL+"/v1/tenants/tenant-a/projects/"+f.ProjectA.String(), nil)
					req.Body = io.NopCloser(stringsReader(`{"name":"contended"}`))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set(kit.HeaderEmail, who)
					start := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mu.Lock()
					statuses[fmt.Sprint(resp.StatusCode)]++
					slowest = max(slowest, time.Since(start))
					mu.Unlock()
				}
			}()
		}
		require.Eventually(t, func() bool { return lockWaiters(t, su) >= 5 }, 5*time.Second, 5*time.Millisecond, "tenant A's writes queue on the lock")
		sampling := make(chan struct{})
		go func() {
			defer close(sampling)
			for ctx.Err() == nil {
				maxWaiters = max(maxWaiters, lockWaiters(t, su))
				time.Sleep(20 * time.Millisecond)
			}
		}()
		loaded, loadedFailures = latencies(t, srv.URL, 3*time.Second)
		stop()
		if fair { // every write in flight ends within the bounds, with the row still locked
			wg.Wait()
			unlock()
		} else { // their lock timeout is longer than the test
			unlock()
			wg.Wait()
		}
		<-sampling
		t.Logf("tenant A's writes: %v (slowest %s); at most %d of them on the lock at once", statuses, slowest.Round(time.Millisecond), maxWaiters)
		if fair {
			require.Zero(t, statuses["200"]+statuses["500"], "no write got through the held lock, none failed internally: %v", statuses)
			require.Positive(t, statuses["503"], "lock waits end with the lock timeout")
			require.Positive(t, statuses["429"], "requests past the share are refused")
			// lock_timeout bounds each lock acquisition: an UPDATE of a
			// locked row may wait twice (for the row's tuple lock behind
			// other waiters, then for the holder's transaction), after
			// waiting up to the acquire bound for its share.
			require.Less(t, slowest, 7*time.Second, "no write waited longer than the acquire bound (2 s) and two lock timeouts (2 s each)")
		}
		return idle, loaded, loadedFailures, maxWaiters
	}

	// One after the other: the idle median must not see the control's load.
	t.Run("fair", func(t *testing.T) {
		idle, loaded, failures, waiters := run(t, true)
		t.Logf("tenant B's reads: idle median %s (%d), while tenant A saturates its share median %s (%d), max %s",
			median(idle), len(idle), median(loaded), len(loaded), slices.Max(loaded).Round(time.Millisecond))
		require.Zero(t, failures, "tenant B's reads all succeed")
		require.Equal(t, 5, waiters, "tenant A held exactly its share (half of 10)")
		require.LessOrEqual(t, median(loaded), 2*median(idle), "tenant B's median stays within twice its idle median")
		require.Less(t, slices.Max(loaded), time.Second, "no read of tenant B stalls")
	})
	t.Run("control without shares", func(t *testing.T) {
		_, loaded, failures, waiters := run(t, false)
		t.Logf("control: tenant A held %d connections; tenant B's reads: %d of %d failed, slowest %s",
			waiters, failures, len(loaded), slices.Max(loaded).Round(time.Millisecond))
		require.Equal(t, 10, waiters, "without shares, tenant A takes the whole pool")
		require.Positive(t, failures, "and tenant B's reads fail for want of a connection")
		require.GreaterOrEqual(t, slices.Max(loaded), 2*time.Second, "after waiting the whole acquire bound")
	})
}

func stringsReader(s string) io.Reader { return &stringReader{s: s} }

type stringReader struct{ s string }

func (r *stringReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}
