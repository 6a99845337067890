package server_test

import (
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/api"
	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/readiness"
	"github.com/pgtenant/pgtenant/internal/server"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

type fixture struct {
	*pgtest.World
	srv   http.Handler // the server behind the contract check (kit.Checked)
	ready *readiness.Monitor
	rt    *pgtest.RoundTrips // everything the scope sent, self-checks included
}

// setup serves both transports, composed, over a fresh World, with the
// readiness monitor cmd/server uses (the scope's self-check), checked once.
func setup(t *testing.T, mod ...func(*server.Config)) *fixture {
	t.Helper()
	w := pgtest.NewWorld(t)
	rt := &pgtest.RoundTrips{}
	scope := kit.Scope(t, w.DB, kit.Traced(rt))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ready := readiness.New(readiness.Config{Check: scope.SelfCheck, Logger: log})
	require.NoError(t, ready.Refresh(t.Context()))
	cfg := server.Config{Service: kit.Service(t, scope), Auth: kit.HeaderAuth{}, Logger: log, Readiness: ready}
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := server.New(cfg)
	require.NoError(t, err)
	return &fixture{World: w, srv: kit.Checked(t, srv), ready: ready, rt: rt}
}

func (f *fixture) do(t *testing.T, email, method, path string, header ...string) kit.Response {
	t.Helper()
	req := kit.Request(t, email, method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return kit.Serve(f.srv, req)
}

// TestReadyzReadsCachedState: a probe runs no query (before, every probe
// re-ran the role check, re-hashed the policies and recomputed the catalog
// fingerprint); the verdict changes when the background check runs, here
// after a policy drift.
func TestReadyzReadsCachedState(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.rt.Reset()
	for range 20 {
		r := f.do(t, "", "GET", "/readyz")
		require.Equal(t, 200, r.Status, string(r.Body))
	}
	require.Zero(t, f.rt.Load(), "probes read state, they run no query")

	f.Fx.Exec(t, "ALTER TABLE projects NO FORCE ROW LEVEL SECURITY") // a hand edit: the catalog drifts
	require.Equal(t, 200, f.do(t, "", "GET", "/readyz").Status, "cached until the next check")
	require.Error(t, f.ready.Refresh(t.Context()))
	r := f.do(t, "", "GET", "/readyz")
	require.Equal(t, 503, r.Status)
	p := r.Problem(t)
	require.Equal(t, tenancy.CodeUnavailable, p.Code)
	require.Equal(t, "not ready: database check failed", p.Detail)
	require.NotContains(t, string(r.Body), "projects", "the reason stays in the log")
}

// TestReadyzFailsAsSoonAsDrainBegins: once shutdown begins the probe
// answers 503, while the process is still alive and requests still run.
func TestReadyzFailsAsSoonAsDrainBegins(t *testing.T) {
	t.Parallel()
	f := setup(t)
	require.Equal(t, 200, f.do(t, "", "GET", "/readyz").Status, "positive control")
	f.ready.Drain()
	r := f.do(t, "", "GET", "/readyz")
	require.Equal(t, 503, r.Status)
	require.Equal(t, "not ready: shutting down", r.Problem(t).Detail)
	require.Equal(t, 200, f.do(t, "", "GET", "/healthz").Status, "alive")
	require.Equal(t, 200, f.do(t, pgtest.AliceEmail, "GET", "/v1/tenants/tenant-a/projects").Status, "in-flight work still served")
}

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.do(t, "", "GET", "/healthz")
	require.Equal(t, 200, r.Status)
	r = f.do(t, "", "GET", "/readyz")
	require.Equal(t, 200, r.Status, string(r.Body))
	require.NotEmpty(t, r.Header.Get("X-Request-Id"))
}

// TestCloudflareJWKSUnreachableAtStart: without a key set the server is not
// ready, and a valid-looking token gets 503 on every transport, never a
// pass.
func TestCloudflareJWKSUnreachableAtStart(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	iss.SetOffline(true)
	f := setup(t, func(c *server.Config) { c.Auth = kit.Cloudflare(t, iss, time.Second) })
	r := f.do(t, "", "GET", "/readyz")
	require.Equal(t, 503, r.Status, "not ready while no key set has loaded")
	for _, path := range []string{"/v1/tenants/tenant-a/projects", "/v1/admin/tenants"} {
		r = f.do(t, "", "GET", path, auth.HeaderAssertion, iss.UserToken(pgtest.AliceEmail))
		require.Equal(t, 503, r.Status, "a valid-looking token is never accepted without keys: %s", path)
		require.Equal(t, tenancy.CodeUnavailable, r.Problem(t).Code)
	}
	r = f.do(t, "", "GET", "/admin", auth.HeaderAssertion, iss.UserToken(pgtest.OlgaEmail))
	require.Equal(t, 503, r.Status, "the dashboard too")
}

// TestTransportsShareOneServer: the API answers JSON problems and the
// dashboard HTML pages on the same router, each for its own paths; an
// Owner's suspension in the dashboard takes effect in the API at once.
func TestTransportsShareOneServer(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.do(t, pgtest.AliceEmail, "GET", "/v1/admin/tenants")
	require.Equal(t, tenancy.CodeReasonRequired, r.Problem(t).Code)
	r = f.do(t, pgtest.AliceEmail, "GET", "/v1/nope")
	require.Equal(t, tenancy.CodeNotFound, r.Problem(t).Code)
	r = f.do(t, pgtest.AliceEmail, "GET", "/admin/nope")
	require.Equal(t, 404, r.Status)
	require.Equal(t, "text/html; charset=UTF-8", r.Header.Get("Content-Type"))
	require.Contains(t, string(r.Body), `data-code="not_found"`)

	r = f.do(t, pgtest.BobEmail, "GET", "/v1/tenants/tenant-b/projects")
	require.Equal(t, 200, r.Status, "positive control")
	// The dashboard's suspend form, posted by the Owner with a reason and
	// a same-origin browser's fetch metadata.
	req := kit.Request(t, pgtest.OlgaEmail, "POST", "/admin/tenants/"+f.TenantB.String()+"/suspend", "")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(&http.Cookie{Name: "pgtenant_admin_reason", Value: b64(pgtest.OlgaEmail) + "." + b64("ticket 7")})
	r = kit.Serve(f.srv, req)
	require.Equal(t, http.StatusSeeOther, r.Status, string(r.Body))
	r = f.do(t, pgtest.BobEmail, "GET", "/v1/tenants/tenant-b/projects")
	require.Equal(t, 404, r.Status, "B's members lose access at once")
	require.Equal(t, tenancy.CodeNotFound, r.Problem(t).Code)
	r = f.do(t, pgtest.AliceEmail, "GET", "/v1/tenants/tenant-a/projects")
	require.Equal(t, 200, r.Status, "other tenants unaffected")
}

// b64 encodes one half of the dashboard's reason cookie.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestServesItsOpenAPIDocument: the description is served, unauthenticated,
// as the document the contract test validates against.
func TestServesItsOpenAPIDocument(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.do(t, "", "GET", api.OpenAPIPath)
	require.Equal(t, 200, r.Status)
	require.Equal(t, "application/yaml", r.Header.Get("Content-Type"))
	require.Equal(t, api.OpenAPI, r.Body)
	require.Contains(t, string(r.Body), "openapi: 3.1.0")
	require.Equal(t, 200, f.do(t, "", "HEAD", api.OpenAPIPath).Status)
}

// TestDevModeAnswersLoopbackHostsOnly: dev mode signs every request in as
// DEV_USER_EMAIL, so a page on another origin whose name the attacker
// re-points at 127.0.0.1 (DNS rebinding) must get nothing: every path, the
// unauthenticated ones too, answers 421 misdirected_request for a Host
// that is not localhost, 127.0.0.1 or [::1] (with or without a port).
func TestDevModeAnswersLoopbackHostsOnly(t *testing.T) {
	t.Parallel()
	dev, err := auth.Dev(pgtest.AliceEmail)
	require.NoError(t, err)
	f := setup(t, func(c *server.Config) { c.Auth = dev })
	get := func(host, path string) kit.Response {
		req := kit.Request(t, "", "GET", path, nil)
		req.Host = host
		return kit.Serve(f.srv, req)
	}
	for _, host := range []string{"localhost:8080", "127.0.0.1:8080", "[::1]:8080", "localhost"} {
		require.Equal(t, 200, get(host, "/v1/tenants/tenant-a/projects").Status, "positive control: %s", host)
	}
	for _, host := range []string{"rebind.attacker.example", "rebind.attacker.example:8080", "localhost.attacker.example:8080", "127.0.0.2:8080", ""} {
		for _, path := range []string{"/v1/tenants/tenant-a/projects", "/v1/me", "/healthz", "/v1/openapi.yaml", "/admin"} {
			r := get(host, path)
			require.Equal(t, 421, r.Status, "%s %s", host, path)
			require.Equal(t, "misdirected_request", string(r.Problem(t).Code))
			require.NotContains(t, string(r.Body), "Apollo")
		}
	}
}
