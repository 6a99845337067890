package telemetry_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/limits"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/telemetry"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// TestRefusalMetrics: a request a limit turns away is counted in
// pgtenant_refusals_total under its reason (a fixed set, present at 0
// before anything happens), and its scope under outcome "limited".
func TestRefusalMetrics(t *testing.T) {
	t.Parallel()
	m := telemetry.NewMetrics(telemetry.MetricsConfig{})
	app := apiApp(t, func(c *kit.AppConfig) {
		c.Observe, c.Observer = m.Middleware, m
		c.ScopeOptions = []func(*txscope.Config){func(c *txscope.Config) { c.UserRate = limits.Rate{PerSecond: 0.01, Burst: 2} }}
	})
	fams := scrape(t, m)
	for _, r := range limits.Reasons {
		require.Equal(t, 0.0, value(fams, "pgtenant_refusals_total", "reason", string(r)), r)
	}
	for _, want := range []int{200, 200, 429, 429} {
		require.Equal(t, want, app.Do(t, pgtest.AliceEmail, "GET", "/v1/tenants/tenant-a/projects", nil).Status)
	}
	fams = scrape(t, m)
	require.Equal(t, 2.0, value(fams, "pgtenant_refusals_total", "reason", "rate_user"))
	require.Equal(t, 0.0, value(fams, "pgtenant_refusals_total", "reason", "rate_tenant"))
	require.Equal(t, 2.0, value(fams, "pgtenant_scopes_total", "kind", "read", "outcome", "limited"))
	require.Equal(t, 2.0, value(fams, "pgtenant_http_request_duration_seconds", "route", "/v1/tenants/:tenant/projects", "method", "GET", "status", "429"))
}
