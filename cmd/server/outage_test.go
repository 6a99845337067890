package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/faults"
	"github.com/pgtenant/pgtenant/internal/pglocal"
	"github.com/pgtenant/pgtenant/internal/pgtest"
)

// privateCluster starts a cluster of the test's own (stopping it must not
// disturb the other tests), seeded with tenants, or skips like every
// integration suite when PostgreSQL's binaries are missing.
func privateCluster(t *testing.T, tenants, users int) (*faults.Cluster, []faults.Tenant) {
	t.Helper()
	ctx := context.Background()
	c, err := faults.StartCluster(ctx)
	if err != nil {
		pgtest.SkipSuite(t, "fault tests (a private PostgreSQL cluster)", err.Error(),
			"install PostgreSQL server binaries (Debian: postgresql-15)", "PGTENANT_REQUIRE_DB")
	}
	t.Cleanup(c.Destroy)
	ts, err := faults.Seed(ctx, c.SuperURL, tenants, users)
	require.NoError(t, err)
	return c, ts
}

// startServer runs `server serve` on a free loopback port in
// trusted-header mode (identities from the loopback "proxy": the load's
// users), until the test ends; env adds to or overrides its environment.
func startServer(t *testing.T, c *faults.Cluster, env map[string]string) (base string, done <-chan result) {
	t.Helper()
	port, err := pglocal.FreePort()
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	full := map[string]string{
		"AUTH_MODE": "trusted-header", "TRUSTED_PROXY_CIDRS": "127.0.0.1/32", "LISTEN_ADDR": addr,
		"DATABASE_URL": c.RuntimeURL, "ADMIN_DATABASE_URL": c.AdminURL, "METRICS_ADDR": "off",
		"SHUTDOWN_TIMEOUT": "5s", "LOG_LEVEL": "error",
	}
	for k, v := range env {
		full[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan result, 1)
	go func() { ch <- runCmd(ctx, full, "serve") }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ch:
		case <-time.After(15 * time.Second):
			t.Error("the server did not stop")
		}
	})
	base = "http://" + addr
	require.Eventually(t, func() bool { return faults.Status(base+"/readyz") == 200 }, 20*time.Second, 50*time.Millisecond)
	return base, ch
}

func identify(r *http.Request, email string) { r.Header.Set(auth.HeaderEmail, email) }

// classes renders a phase's answer classes, sorted, for messages.
func classes(p faults.PhaseStats) string {
	var out []string
	for k, v := range p.Classes {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestDatabaseOutage: while a load of mixed tenants runs, PostgreSQL is
// stopped for ten seconds and started again. The server stays up; while
// the database is gone every request is a quick 503 problem with
// Retry-After and /readyz is 503; within seconds of the database's return
// /readyz is 200 and requests succeed, without a restart. Every 201 is in
// the database afterwards, and no answer ever held another tenant's rows
// or an empty context.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, tenants := privateCluster(t, 6, 2)
	// The load is faster than the default per-user rates; this test is
	// about the outage (TestRateLimits is about those).
	base, done := startServer(t, c, map[string]string{"RATE_LIMIT_USER": "off", "RATE_LIMIT_TENANT": "off"})

	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	ready := faults.WatchReadyz(wctx, base)
	load := faults.NewLoad(faults.LoadConfig{
		BaseURL: base, Tenants: tenants, Identify: identify, Workers: 6, Pause: 5 * time.Millisecond,
		WriteRatio: 0.3, GetRatio: 0.2, CrossRatio: 0.1,
	})
	lctx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan struct{})
	go func() { load.Run(lctx); close(loadDone) }()

	load.Phase("before")
	time.Sleep(3 * time.Second)
	stopping := time.Now()
	load.Phase("stopping")
	require.NoError(t, c.Stop(ctx))
	load.Phase("down")
	time.Sleep(10 * time.Second)
	load.Phase("starting")
	require.NoError(t, c.Start(ctx))
	started := time.Now()
	load.Phase("recovering")
	readyAt, ok := ready.WaitFirst(200, started, 10*time.Second)
	require.True(t, ok, "/readyz never turned 200 after the database came back")
	load.Phase("after")
	time.Sleep(4 * time.Second)
	stopLoad()
	<-loadDone
	stopWatch()

	notReady, ok := ready.First(503, stopping)
	require.True(t, ok, "/readyz never turned 503")
	t.Logf("/readyz 503 %s after the stop began; 200 again %s after the start returned",
		notReady.Sub(stopping).Round(time.Millisecond), readyAt.Sub(started).Round(time.Millisecond))
	require.Less(t, notReady.Sub(stopping), 3*time.Second, "/readyz noticed the outage")
	require.Less(t, readyAt.Sub(started), 5*time.Second, "/readyz noticed the return")

	phases := map[string]faults.PhaseStats{}
	for _, p := range load.Phases() {
		phases[p.Name] = p
		t.Logf("%-10s %5d requests  p50 %-8s p99 %-8s %s", p.Name, p.Requests,
			faults.Quantile(p.Latencies, .5).Round(100*time.Microsecond), faults.Quantile(p.Latencies, .99).Round(100*time.Microsecond), classes(p))
		for class := range p.Classes {
			require.NotContains(t, class, "500", "no internal errors (%s)", p.Name)
			require.NotContains(t, class, "transport", "the server stayed up (%s)", p.Name)
			require.NotContains(t, class, "without Retry-After", p.Name)
			require.NotContains(t, class, "not a problem", p.Name)
		}
	}
	before, down, after := phases["before"], phases["down"], phases["after"]
	require.Greater(t, before.Classes["ok"], 100, "positive control: the load worked before the outage: %s", classes(before))
	require.Greater(t, down.Requests, 100, "the load ran during the outage")
	require.Equal(t, down.Requests, down.Classes["503 unavailable"]+down.Classes["canceled"], "while the database is down, every answer is 503 unavailable: %s", classes(down))
	require.Less(t, faults.Quantile(down.Latencies, .99), time.Second, "503s come quickly, far within REQUEST_TIMEOUT (10s)")
	require.Greater(t, after.Classes["ok"], 100, "requests succeed again: %s", classes(after))
	require.Equal(t, after.Requests, after.Classes["ok"]+after.Classes["404 not_found"]+after.Classes["canceled"], "after the return, every answer is a success (or a cross-tenant probe's 404): %s", classes(after))

	require.Empty(t, load.Leaks(), "no answer held another tenant's rows or an empty context")
	require.Empty(t, load.Lost())
	acks := load.Acks()
	require.NotEmpty(t, acks)
	missing, err := faults.Missing(ctx, c.SuperURL, acks)
	require.NoError(t, err)
	require.Empty(t, missing, "every acknowledged write (201) is in the database")
	t.Logf("%d acknowledged writes, all found", len(acks))
	select {
	case r := <-done:
		t.Fatalf("the server exited during the outage: %d %s", r.code, r.stderr)
	default:
	}
}
