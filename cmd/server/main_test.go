package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
	"github.com/pgtenant/pgtenant/internal/migrations"
	"github.com/pgtenant/pgtenant/internal/pglocal"
	"github.com/pgtenant/pgtenant/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

type result struct {
	code           int
	stdout, stderr string
}

func runCmd(ctx context.Context, env map[string]string, args ...string) result {
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code := run(ctx, args, getenv, &out, &errb)
	return result{code, out.String(), errb.String()}
}

func TestUsageAndConfigErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := runCmd(ctx, nil)
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "usage:")

	r = runCmd(ctx, nil, "frobnicate")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, `unknown command "frobnicate"`)

	r = runCmd(ctx, map[string]string{"AUTH_MODE": "magic", "REQUEST_TIMEOUT": "soon", "DATABASE_URL": "mysql://x"}, "serve")
	require.Equal(t, exitUsage, r.code)
	for _, v := range []string{"AUTH_MODE", "REQUEST_TIMEOUT", "DATABASE_URL"} {
		require.Contains(t, r.stderr, v)
	}

	r = runCmd(ctx, map[string]string{"AUTH_MODE": "dev"}, "serve")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "DATABASE_URL is required")

	r = runCmd(ctx, nil, "migrate", "up")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "MIGRATE_DATABASE_URL is required")

	r = runCmd(ctx, map[string]string{"ADMIN_DATABASE_URL": "postgres://x@127.0.0.1:1/x"}, "seed-tenant")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "--name is required")

	r = runCmd(ctx, nil, "seed-tenant", "--name", "Acme", "--member", "not-an-email:partner")
	require.Equal(t, exitUsage, r.code)
}

func TestDevModeRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "[::]:8080", "10.1.2.3:8080", "example.com:80"} {
		r := runCmd(context.Background(), map[string]string{
			"AUTH_MODE": "dev", "LISTEN_ADDR": addr, "DATABASE_URL": "postgres://x@127.0.0.1:1/x",
			"ADMIN_DATABASE_URL": "postgres://y@127.0.0.1:1/x",
		}, "serve")
		require.Equal(t, exitUsage, r.code, addr)
		require.Contains(t, r.stderr, "loopback", addr)
	}
}

// TestServeRefusesPrivilegedOrStaleDatabase: the self-check keeps the
// server from starting on a connection that would bypass or own RLS, or on
// a database the binary's migrations have not reached.
func TestServeRefusesPrivilegedOrStaleDatabase(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	empty := pgtest.NewEmpty(t)
	for name, c := range map[string]struct{ url, want string }{
		"superuser":        {d.SuperURL, "is a superuser"},
		"bypassrls":        {d.AdminURL, "has BYPASSRLS"},
		"table owner":      {d.OwnerURL, "owns (or is a member of the owner of) tenant tables"},
		"not migrated":     {empty.RuntimeURL, "migration(s) pending"},
		"admin not bypass": {d.RuntimeURL, "ADMIN_DATABASE_URL role"},
	} {
		env := map[string]string{"AUTH_MODE": "dev", "LISTEN_ADDR": "127.0.0.1:0", "DATABASE_URL": c.url, "ADMIN_DATABASE_URL": d.AdminURL}
		if name == "not migrated" {
			env["ADMIN_DATABASE_URL"] = empty.AdminURL
		}
		if name == "admin not bypass" {
			env["ADMIN_DATABASE_URL"] = d.RuntimeURL
		}
		r := runCmd(context.Background(), env, "serve")
		require.Equal(t, exitFailure, r.code, name)
		require.Contains(t, r.stderr, "refusing to start", name)
		require.Contains(t, r.stderr, c.want, name)
		require.NotContains(t, r.stderr, "pgtenant-test-only", "no password in messages")
	}
}

func TestServeStartsAndShutsDownOnSignal(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	port, err := pglocal.FreePort()
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan result, 1)
	go func() {
		done <- runCmd(ctx, map[string]string{
			"AUTH_MODE": "dev", "LISTEN_ADDR": addr, "DATABASE_URL": d.RuntimeURL, "ADMIN_DATABASE_URL": d.AdminURL,
			"SHUTDOWN_TIMEOUT": "5s", "METRICS_ADDR": "off",
		}, "serve")
	}()
	var resp *http.Response
	require.Eventually(t, func() bool {
		resp, err = http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	}, 15*time.Second, 50*time.Millisecond)
	require.Equal(t, 200, resp.StatusCode)
	cancel() // what SIGTERM does through signal.NotifyContext
	select {
	case r := <-done:
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Contains(t, r.stderr, "stopped")
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestMigrateExitCodes(t *testing.T) {
	t.Parallel()
	d := pgtest.NewEmpty(t)
	ctx := context.Background()
	env := map[string]string{"MIGRATE_DATABASE_URL": d.OwnerURL}
	r := runCmd(ctx, env, "migrate", "status")
	require.Equal(t, exitOutdated, r.code, r.stderr)
	require.Contains(t, r.stdout, "pending migrations: 1, ")
	r = runCmd(ctx, env, "migrate", "up")
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runCmd(ctx, env, "migrate", "status")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "status: up to date")
	r = runCmd(ctx, env, "migrate", "version")
	require.Equal(t, exitOK, r.code)
	latest, err := migrations.Latest()
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%d\n", latest), r.stdout)
	r = runCmd(ctx, env, "migrate", "down", "x")
	require.Equal(t, exitUsage, r.code)
	r = runCmd(ctx, env, "migrate", "sideways")
	require.Equal(t, exitUsage, r.code)
	versions, err := migrations.Versions() // numbers may have gaps: count them
	require.NoError(t, err)
	r = runCmd(ctx, env, "migrate", "down", fmt.Sprint(len(versions)))
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runCmd(ctx, env, "migrate", "version")
	require.Equal(t, "none\n", r.stdout)
	r = runCmd(ctx, env, "migrate", "status")
	require.Equal(t, exitOutdated, r.code)
	r = runCmd(ctx, env, "migrate", "up")
	require.Equal(t, exitOK, r.code, r.stderr)
}

func TestSeedTenantIsIdempotent(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	env := map[string]string{"ADMIN_DATABASE_URL": d.AdminURL}
	args := []string{"seed-tenant", "--name", "Acme Corp", "--member", "dev@example.com:partner", "--member", "Viewer@Example.com:client_viewer", "--demo"}
	r := runCmd(ctx, env, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "tenant acme-corp (Acme Corp) created")
	require.Contains(t, r.stdout, "audit entry")
	r = runCmd(ctx, env, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "tenant acme-corp (Acme Corp) exists")
	require.Contains(t, r.stdout, "nothing to change: no audit entry written")

	conn := pgtest.Conn(t, d.SuperURL)
	counts := map[string]int{}
	for _, table := range []string{"tenants", "users", "memberships", "projects", "tasks", "audit_log"} {
		var n int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n))
		counts[table] = n
	}
	require.Equal(t, map[string]int{"tenants": 1, "users": 2, "memberships": 2, "projects": 2, "tasks": 5, "audit_log": 1}, counts, "the second run wrote nothing, not even an audit row")
	var reason string
	require.NoError(t, conn.QueryRow(ctx, "SELECT reason FROM audit_log ORDER BY id LIMIT 1").Scan(&reason))
	require.Equal(t, "cli: seed-tenant", reason)
	var email string
	require.NoError(t, conn.QueryRow(ctx, "SELECT email FROM users WHERE email LIKE 'viewer%'").Scan(&email))
	require.Equal(t, "viewer@example.com", email, "emails are normalized")
}

func TestCloudflareConfigErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	base := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "ADMIN_DATABASE_URL": "postgres://y@127.0.0.1:1/x"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for want, env := range map[string]map[string]string{
		"CF_ACCESS_TEAM_DOMAIN is required":       with(),
		"CF_ACCESS_AUD is required":               with("CF_ACCESS_TEAM_DOMAIN", "https://acme.cloudflareaccess.com"),
		"CF_ACCESS_TEAM_DOMAIN:":                  with("CF_ACCESS_TEAM_DOMAIN", "http://acme.cloudflareaccess.com", "CF_ACCESS_AUD", "abc"),
		"only with CF_ACCESS_INSECURE_LOOPBACK=1": with("CF_ACCESS_TEAM_DOMAIN", "http://127.0.0.1:9901", "CF_ACCESS_AUD", "abc"),
		"CF_ACCESS_SKEW":                          with("CF_ACCESS_TEAM_DOMAIN", "https://acme.cloudflareaccess.com", "CF_ACCESS_AUD", "abc", "CF_ACCESS_SKEW", "5m"),
		"CF_ACCESS_SERVICE_TOKENS":                with("CF_ACCESS_SERVICE_TOKENS", "no-equals-sign"),
		"TRUSTED_PROXY_CIDRS is required":         with("AUTH_MODE", "trusted-header"),
		"TRUSTED_PROXY_CIDRS \"nope\"":            with("AUTH_MODE", "trusted-header", "TRUSTED_PROXY_CIDRS", "nope"),
	} {
		r := runCmd(context.Background(), env, "serve")
		require.Equal(t, exitUsage, r.code, want)
		require.Contains(t, r.stderr, want)
		require.NotRegexp(t, `AllowInsecureLoopback|TeamDomain|Audiences|CertsURL`, r.stderr, "variables, not Go fields")
	}
}

func TestOwnerCommands(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	env := map[string]string{"ADMIN_DATABASE_URL": d.AdminURL}
	r := runCmd(ctx, env, "owner", "add", "Olga@Ops.example")
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runCmd(ctx, env, "owner", "add", "olga@ops.example") // idempotent
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runCmd(ctx, env, "owner", "list")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "olga@ops.example")
	r = runCmd(ctx, env, "owner", "remove", "olga@ops.example")
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runCmd(ctx, env, "owner", "remove", "olga@ops.example")
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, r.stderr, "not an owner")
	r = runCmd(ctx, env, "owner", "add", "not-an-email")
	require.Equal(t, exitUsage, r.code)
	r = runCmd(ctx, env, "owner", "list")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "no owners (server owner add EMAIL grants the role)\n", r.stdout, "an empty list says so")

	conn := pgtest.Conn(t, d.SuperURL)
	var owners, audits int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM users WHERE is_owner").Scan(&owners))
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE action LIKE 'owner.%' AND reason LIKE 'cli: owner %'").Scan(&audits))
	require.Zero(t, owners)
	require.Equal(t, 5, audits, "add, add, list, remove, list; the failed remove rolled back with its audit row")
}

func TestRLSCheckCommand(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	r := runCmd(ctx, map[string]string{"DATABASE_URL": d.RuntimeURL, "ADMIN_DATABASE_URL": d.AdminURL}, "rls-check")
	require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
	d.Fixtures(t).Exec(t, "ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY")
	r = runCmd(ctx, map[string]string{"DATABASE_URL": d.RuntimeURL, "ADMIN_DATABASE_URL": d.AdminURL}, "rls-check", "--json")
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, r.stdout, `"tenant_rls_forced"`)
}

// TestVersion: `server version` needs no configuration (a broken
// environment does not hide it) and names the build.
func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCmd(context.Background(), map[string]string{"AUTH_MODE": "magic"}, "version")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, `^pgtenant \S+\nrevision \S+`, r.stdout)
	require.Contains(t, r.stdout, "go go1.")
}

// envExample reads the repository's .env.example as `set -a; . ./.env`
// would (NAME=value lines; comments skipped).
func envExample(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../.env.example")
	require.NoError(t, err)
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	require.Equal(t, "cloudflare", env["AUTH_MODE"])
	return env
}

// TestServeFromEnvExample: .env.example, loaded as it is but for the
// database URLs, the listen addresses and the Access team (a local issuer,
// standing in for the emulator), serves in Cloudflare mode: a token gets
// in, a request without one does not, metrics are served on their own
// listener and not on the API's. Before, the file's AUTH_MODE=cloudflare
// came without any CF_ACCESS_* variable and serve refused to start.
func TestServeFromEnvExample(t *testing.T) {
	t.Parallel()
	w := pgtest.NewWorld(t)
	iss := cfaccesstest.NewIssuer(t)
	env := envExample(t)
	free := func() string {
		port, err := pglocal.FreePort()
		require.NoError(t, err)
		return fmt.Sprintf("127.0.0.1:%d", port)
	}
	addr, metricsAddr := free(), free()
	for k, v := range map[string]string{
		"DATABASE_URL": w.DB.RuntimeURL, "ADMIN_DATABASE_URL": w.DB.AdminURL, "MIGRATE_DATABASE_URL": w.DB.OwnerURL,
		"LISTEN_ADDR": addr, "METRICS_ADDR": metricsAddr,
		"CF_ACCESS_TEAM_DOMAIN": iss.URL(), "CF_ACCESS_AUD": iss.Audience(),
	} {
		require.Contains(t, env, k)
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan result, 1)
	go func() { done <- runCmd(ctx, env, "serve") }()
	get := func(url, token string) (int, string) {
		req, err := http.NewRequest("GET", url, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Cf-Access-Jwt-Assertion", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	require.Eventually(t, func() bool { s, _ := get("http://"+addr+"/readyz", ""); return s == 200 }, 15*time.Second, 50*time.Millisecond)
	s, body := get("http://"+addr+"/v1/me", iss.UserToken(pgtest.AliceEmail))
	require.Equal(t, 200, s, body)
	require.Contains(t, body, `"auth_method":"cloudflare"`)
	s, _ = get("http://"+addr+"/v1/me", "")
	require.Equal(t, 401, s)
	s, body = get("http://"+metricsAddr+"/metrics", "")
	require.Equal(t, 200, s)
	require.Contains(t, body, `pgtenant_http_request_duration_seconds_count{method="GET",route="/v1/me",status="200"} 1`)
	require.Contains(t, body, `pgtenant_auth_failures_total{class="missing"} 1`)
	require.Contains(t, body, `pgtenant_db_pool_max_conns{pool="runtime"} 10`)
	require.Contains(t, body, "pgtenant_ready 1")
	s, _ = get("http://"+addr+"/metrics", "")
	require.Equal(t, 404, s, "the API listener serves no metrics")
	cancel()
	select {
	case r := <-done:
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Contains(t, r.stderr, "serving metrics")
	case <-time.After(25 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestServeRefusesBusyMetricsAddr: metrics that cannot be served stop the
// server at start, naming the variable, rather than a server nobody can
// watch.
func TestServeRefusesBusyMetricsAddr(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	r := runCmd(context.Background(), map[string]string{
		"AUTH_MODE": "dev", "LISTEN_ADDR": "127.0.0.1:0", "DATABASE_URL": d.RuntimeURL, "ADMIN_DATABASE_URL": d.AdminURL,
		"METRICS_ADDR": busy.Addr().String(),
	}, "serve")
	require.Equal(t, exitFailure, r.code, r.stderr)
	require.Contains(t, r.stderr, "METRICS_ADDR")
	require.Contains(t, r.stderr, "address already in use")
}
