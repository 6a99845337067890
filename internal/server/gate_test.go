package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/migrations"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/readiness"
	"github.com/pgtenant/pgtenant/internal/server"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// sample is one request of the background reader.
type sample struct {
	start, end time.Time
	status     int
	names      []string // project names of a 200
}

// TestDriftClosesTheGate: a policy weakened by hand under a running server
// (issue 11's OR weakening of projects, as the schema owner) turns tenant,
// user and admin routes to 503 schema_drift within one readiness interval,
// with /healthz still 200 and /readyz 503 and the log saying what differs;
// `migrate up` repairs it and the routes serve again. A reader runs the
// whole time: once the gate has closed, no response carries another
// tenant's rows. (Before the first check after the weakening, up to one
// interval, requests run under the weakened policy: the test measures that
// window; DefaultInterval bounds it at 10 s.)
func TestDriftClosesTheGate(t *testing.T) {
	t.Parallel()
	require.LessOrEqual(t, readiness.DefaultInterval, 10*time.Second, "the server re-checks at least every 10 s")
	const interval = 200 * time.Millisecond
	w := pgtest.NewWorld(t)
	logs := &kit.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	scope := kit.Scope(t, w.DB)
	ready := readiness.New(readiness.Config{Check: scope.SelfCheck, Logger: log, Interval: interval})
	require.NoError(t, ready.Refresh(t.Context()))
	srv, err := server.New(server.Config{Service: kit.Service(t, scope), Auth: kit.HeaderAuth{}, Logger: log, Readiness: ready})
	require.NoError(t, err)
	f := &fixture{World: w, srv: kit.Checked(t, srv), ready: ready}
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	go ready.Run(ctx)

	read := func() sample {
		s := sample{start: time.Now()}
		r := f.do(t, pgtest.AliceEmail, "GET", "/v1/tenants/tenant-a/projects")
		s.end, s.status = time.Now(), r.Status
		if r.Status == 200 {
			var page struct{ Items []struct{ Name string } }
			require.NoError(t, json.Unmarshal(r.Body, &page))
			for _, p := range page.Items {
				s.names = append(s.names, p.Name)
			}
		}
		return s
	}
	require.Equal(t, []string{"Apollo"}, read().names, "positive control: A's project only")

	var mu sync.Mutex
	var samples []sample
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			s := read()
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()

	weakening, err := os.ReadFile(filepath.Join("..", "rlscheck", "testdata", "weakenings", "issue2_projects_or_branch.sql"))
	require.NoError(t, err)
	weakened := time.Now()
	_, err = pgtest.Conn(t, w.DB.OwnerURL).Exec(t.Context(), string(weakening))
	require.NoError(t, err)

	var closed time.Time
	require.Eventually(t, func() bool {
		if f.do(t, pgtest.BobEmail, "GET", "/v1/tenants/tenant-b/projects").Status == 503 {
			closed = time.Now()
			return true
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "tenant routes turn 503 within 10 s")
	t.Logf("gate closed %s after the weakening (interval %s)", closed.Sub(weakened).Round(time.Millisecond), interval)
	require.Less(t, closed.Sub(weakened), 10*time.Second)

	for _, c := range []struct{ email, path string }{
		{pgtest.AliceEmail, "/v1/tenants/tenant-a/projects"},
		{pgtest.VeraEmail, "/v1/tenants/tenant-a/members"},
		{pgtest.AliceEmail, "/v1/me"},
		{pgtest.OlgaEmail, "/v1/admin/tenants"},
	} {
		r := f.do(t, c.email, "GET", c.path, "X-Audit-Reason", "ticket 11")
		require.Equal(t, 503, r.Status, c.path)
		p := r.Problem(t)
		require.Equal(t, tenancy.CodeSchemaDrift, p.Code, c.path)
		require.Contains(t, p.Detail, "policy projects_isolation on public.projects", "the detail names the drift")
		for _, secret := range []string{"length(", "SELECT", "tenant_id =", pgtest.RuntimeRole, pgtest.OwnerRole} {
			require.NotContains(t, p.Detail, secret, "no SQL, no role names")
		}
	}
	require.Equal(t, 200, f.do(t, "", "GET", "/healthz").Status, "the operator sees it alive")
	require.Equal(t, 503, f.do(t, "", "GET", "/readyz").Status)
	require.Contains(t, logs.String(), "length(name) > 0", "the log says what differs")

	res, err := mustRunner(t, w.DB.OwnerURL).Up(t.Context())
	require.NoError(t, err)
	require.Empty(t, res.Drift)
	repaired := time.Now()
	var reopened time.Time
	require.Eventually(t, func() bool {
		if f.do(t, pgtest.BobEmail, "GET", "/v1/tenants/tenant-b/projects").Status == 200 {
			reopened = time.Now()
			return true
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "back to 200 after migrate up")
	t.Logf("gate reopened %s after migrate up", reopened.Sub(repaired).Round(time.Millisecond))
	require.Contains(t, logs.String(), "ready again")
	time.Sleep(50 * time.Millisecond) // a few more reads after the gate reopened
	stop()
	<-done

	mu.Lock()
	defer mu.Unlock()
	var window, leaked, refused, after int
	for _, s := range samples {
		leak := len(s.names) > 0 && !slicesEqual(s.names, []string{"Apollo"})
		switch {
		case s.end.Before(closed):
			// Served before the gate closed: the weakened policy may
			// have applied.
			window++
			if leak {
				leaked++
			}
		case s.start.After(closed) && s.end.Before(repaired):
			require.Equal(t, 503, s.status, "nothing is served while the database differs")
			refused++
		case s.start.After(repaired):
			require.False(t, leak, "after migrate up only A's rows: %v", s.names)
			if s.status == 200 {
				after++
			}
		}
	}
	t.Logf("reader: %d requests before the gate closed (%d with another tenant's rows), %d refused while drifted, %d served after the repair",
		window, leaked, refused, after)
	require.Positive(t, refused)
	require.Positive(t, after)
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func mustRunner(t *testing.T, url string) *migrations.Runner {
	t.Helper()
	r, err := migrations.New(url)
	require.NoError(t, err)
	return r
}
