package telemetry_test

import (
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/api"
	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/readiness"
	"github.com/pgtenant/pgtenant/internal/telemetry"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// apiApp serves the API over a fresh World with telemetry hooked in the way
// cmd/server hooks it: the middleware outside the request log, the
// observer on the service, the tracer on the scope.
func apiApp(t *testing.T, mod func(*kit.AppConfig)) *kit.App {
	t.Helper()
	cfg := kit.AppConfig{Mount: func(e *echo.Echo, svc *tenancy.Service, a auth.Authenticator, _ *slog.Logger) error {
		return api.Mount(e, api.Config{Service: svc, Auth: a})
	}}
	mod(&cfg)
	return kit.NewApp(t, cfg)
}

// scrape reads the metrics the way Prometheus does and parses them.
func scrape(t *testing.T, m *telemetry.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	require.NoError(t, err)
	return fams
}

// value is the value of the series of family name with exactly these
// labels (a histogram's sample count); -1 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
series:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for i := 0; i < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestMetricsAfterRealRequests: real requests through the API, then a
// scrape: requests by route template, method and status, scope outcomes,
// authentication failures, audit writes, both pools and readiness, with no
// id or email in any label.
func TestMetricsAfterRealRequests(t *testing.T) {
	t.Parallel()
	var app *kit.App
	var ready *readiness.Monitor
	m := telemetry.NewMetrics(telemetry.MetricsConfig{
		Pools: func() map[string]telemetry.PoolStat { return telemetry.PoolsOf(app.Scope.Stats)() },
		Ready: func() error { return ready.Err() },
	})
	app = apiApp(t, func(c *kit.AppConfig) { c.Observe, c.Observer = m.Middleware, m })
	ready = readiness.New(readiness.Config{Check: app.Scope.SelfCheck})
	fams := scrape(t, m)
	require.Equal(t, 1.0, value(fams, "pgtenant_readiness", "state", "not_checked"), "before the first check")
	require.NoError(t, ready.Refresh(t.Context()))

	const projects = "/v1/tenants/:tenant/projects"
	for _, c := range []struct {
		email, method, path string
		body                any
		status              int
	}{
		{pgtest.AliceEmail, "GET", "/v1/tenants/tenant-a/projects", nil, 200},
		{pgtest.AliceEmail, "GET", "/v1/tenants/tenant-a/projects", nil, 200},
		{pgtest.AliceEmail, "GET", "/v1/tenants/tenant-b/projects", nil, 404},                         // tenant_not_found
		{"stranger@x.example", "GET", "/v1/tenants/tenant-a/projects", nil, 403},                      // unknown_user
		{pgtest.VeraEmail, "POST", "/v1/tenants/tenant-a/projects", map[string]any{"name": "x"}, 403}, // forbidden
		{pgtest.AliceEmail, "POST", "/v1/tenants/tenant-a/projects", map[string]any{"name": "y"}, 201},
		{"", "GET", "/v1/tenants/tenant-a/projects", nil, 401}, // missing credential
		{pgtest.AliceEmail, "GET", "/v1/tenants/tenant-a/projects/" + app.ProjectA.String(), nil, 200},
		{pgtest.AliceEmail, "HEAD", "/v1/tenants/tenant-a/projects/" + app.ProjectA.String(), nil, 200},
		{pgtest.AliceEmail, "GET", "/v1/no/such/" + app.ProjectA.String(), nil, 404},
	} {
		require.Equal(t, c.status, app.Do(t, c.email, c.method, c.path, c.body).Status, "%s %s", c.method, c.path)
	}
	req := kit.Request(t, pgtest.OlgaEmail, "GET", "/v1/admin/tenants", nil)
	req.Header.Set(api.HeaderAuditReason, "metrics test")
	require.Equal(t, 200, kit.Serve(app.Handler, req).Status)

	fams = scrape(t, m)
	const hist = "pgtenant_http_request_duration_seconds"
	require.Equal(t, 2.0, value(fams, hist, "route", projects, "method", "GET", "status", "200"))
	require.Equal(t, 1.0, value(fams, hist, "route", projects, "method", "GET", "status", "404"))
	require.Equal(t, 1.0, value(fams, hist, "route", projects, "method", "GET", "status", "403"))
	require.Equal(t, 1.0, value(fams, hist, "route", projects, "method", "GET", "status", "401"))
	require.Equal(t, 1.0, value(fams, hist, "route", projects, "method", "POST", "status", "201"))
	require.Equal(t, 1.0, value(fams, hist, "route", projects+"/:project", "method", "HEAD", "status", "200"))
	require.Equal(t, 1.0, value(fams, hist, "route", "unmatched", "method", "GET", "status", "404"), "unknown paths share one series")
	require.Equal(t, 1.0, value(fams, hist, "route", "/v1/admin/tenants", "method", "GET", "status", "200"))

	const scopes = "pgtenant_scopes_total"
	require.GreaterOrEqual(t, value(fams, scopes, "kind", "read", "outcome", "entered"), 4.0, "lists, gets, the Owner check")
	require.Equal(t, 1.0, value(fams, scopes, "kind", "read", "outcome", "tenant_not_found"))
	require.Equal(t, 1.0, value(fams, scopes, "kind", "read", "outcome", "unknown_user"))
	require.Equal(t, 1.0, value(fams, scopes, "kind", "write", "outcome", "forbidden"))
	require.Equal(t, 1.0, value(fams, scopes, "kind", "write", "outcome", "entered"))
	require.Equal(t, 1.0, value(fams, scopes, "kind", "admin", "outcome", "entered"))
	require.Equal(t, 1.0, value(fams, "pgtenant_auth_failures_total", "class", "missing"))
	require.Equal(t, 1.0, value(fams, "pgtenant_audit_writes_total", "action", "tenant.list"))

	for _, pool := range []string{"runtime", "admin"} {
		require.Equal(t, 4.0, value(fams, "pgtenant_db_pool_max_conns", "pool", pool), pool)
		require.Positive(t, value(fams, "pgtenant_db_pool_acquires_total", "pool", pool), pool)
		require.GreaterOrEqual(t, value(fams, "pgtenant_db_pool_total_conns", "pool", pool), 1.0, pool)
	}
	require.Equal(t, 1.0, value(fams, "pgtenant_readiness", "state", "ready"))
	require.Equal(t, 0.0, value(fams, "pgtenant_readiness", "state", "failing"))
	require.Equal(t, 1.0, value(fams, "pgtenant_ready"))
	require.Contains(t, fams, "pgtenant_build_info")
	require.Contains(t, fams, "go_goroutines")

	// Bounded cardinality: no label value is an id or an email.
	id := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-`)
	for name, f := range fams {
		for _, s := range f.Metric {
			for _, l := range s.Label {
				require.False(t, id.MatchString(l.GetValue()) || strings.Contains(l.GetValue(), "@"), "%s{%s=%q}", name, l.GetName(), l.GetValue())
			}
		}
	}

	// Drift: the background check fails, and the metric says so.
	app.Fx.Exec(t, "ALTER TABLE projects NO FORCE ROW LEVEL SECURITY")
	require.Error(t, ready.Refresh(t.Context()))
	fams = scrape(t, m)
	require.Equal(t, 1.0, value(fams, "pgtenant_readiness", "state", "failing"))
	require.Equal(t, 0.0, value(fams, "pgtenant_ready"))
}

// TestMetricsTenantLabelIsOptIn: only METRICS_TENANT_LABEL=1 puts the
// tenant id in a label.
func TestMetricsTenantLabelIsOptIn(t *testing.T) {
	t.Parallel()
	for _, optIn := range []bool{false, true} {
		m := telemetry.NewMetrics(telemetry.MetricsConfig{TenantLabel: optIn})
		app := apiApp(t, func(c *kit.AppConfig) { c.Observe, c.Observer = m.Middleware, m })
		require.Equal(t, 200, app.Do(t, pgtest.AliceEmail, "GET", "/v1/tenants/tenant-a/projects", nil).Status)
		got := value(scrape(t, m), "pgtenant_tenant_requests_total", "tenant", app.TenantA.String(), "class", "2xx")
		if optIn {
			require.Equal(t, 1.0, got)
		} else {
			require.Equal(t, -1.0, got, "no tenant series without the opt-in")
		}
	}
}
