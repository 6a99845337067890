// Package telemetry is what an operator watches pgtenant with: Prometheus
// metrics (served on a listener of their own) and OpenTelemetry traces (off
// unless the standard OTEL_* variables turn them on). It hooks into the
// HTTP stack (an Echo middleware), the domain (a tenancy.Observer, which
// sees every scope) and pgx (a query and batch tracer).
//
// Label values come from small fixed sets (route templates, methods,
// statuses, outcome and failure names), never from the request: no tenant
// or user id is a label unless the operator asks for the tenant one
// (METRICS_TENANT_LABEL=1), which costs one set of series per tenant.
package telemetry

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/buildinfo"
	"github.com/pgtenant/pgtenant/internal/limits"
	"github.com/pgtenant/pgtenant/internal/readiness"
	"github.com/pgtenant/pgtenant/internal/reqctx"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// MetricsConfig configures Metrics.
type MetricsConfig struct {
	// Pools reads the connection pools' statistics on every scrape
	// (PoolsOf(scope.Stats)); nil: no pool metrics.
	Pools func() map[string]PoolStat
	// Ready reads the readiness verdict (readiness.Monitor.Err) on every
	// scrape; nil: no readiness metrics.
	Ready func() error
	// TenantLabel adds a tenant label (the tenant id) to
	// pgtenant_tenant_requests_total. Unbounded: one series per tenant and
	// status class.
	TenantLabel bool
}

// Metrics is pgtenant's Prometheus registry and the collectors that feed
// it. Its methods are safe for concurrent use.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	byTenant    *prometheus.CounterVec // nil unless TenantLabel
	authFails   *prometheus.CounterVec
	scopes      *prometheus.CounterVec
	auditWrites *prometheus.CounterVec
	refusals    *prometheus.CounterVec
}

// NewMetrics builds the registry: the Go runtime and process collectors,
// build info, and pgtenant's own metrics.
func NewMetrics(cfg MetricsConfig) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pgtenant_http_request_duration_seconds",
			Help:    "HTTP requests by route template, method and status (the _count is the request count), with their latency.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pgtenant_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		authFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pgtenant_auth_failures_total",
			Help: "Requests refused by authentication, by class (missing, expired, audience, signature, untrusted_peer, not_ready, ...).",
		}, []string{"class"}),
		scopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pgtenant_scopes_total",
			Help: "Database scopes run, by kind (read, write, admin) and outcome (entered, or why the context was refused: unknown_user, tenant_not_found, forbidden, unavailable, limited, failed).",
		}, []string{"kind", "outcome"}),
		auditWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pgtenant_audit_writes_total",
			Help: "Audit rows written (committed with their admin action), by action.",
		}, []string{"action"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pgtenant_refusals_total",
			Help: "Requests turned away with 429 or 503 by admission control or a database fault, by reason (rate_tenant, rate_user, share_tenant, share_user, pool_timeout, db_unreachable, connection_lost, statement_timeout, lock_timeout).",
		}, []string{"reason"}),
	}
	for _, r := range limits.Reasons {
		m.refusals.WithLabelValues(string(r)) // every reason shows, at 0 until it happens
	}
	bi := buildinfo.Get()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "pgtenant_build_info",
		Help:        "The running build (always 1).",
		ConstLabels: prometheus.Labels{"version": bi.Version, "revision": bi.Revision, "goversion": bi.GoVersion},
	})
	build.Set(1)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build, m.requests, m.inFlight, m.authFails, m.scopes, m.auditWrites, m.refusals,
	)
	if cfg.TenantLabel {
		m.byTenant = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pgtenant_tenant_requests_total",
			Help: "HTTP requests by tenant id and status class (METRICS_TENANT_LABEL=1).",
		}, []string{"tenant", "class"})
		m.reg.MustRegister(m.byTenant)
	}
	if cfg.Pools != nil {
		m.reg.MustRegister(poolCollector(cfg.Pools))
	}
	if cfg.Ready != nil {
		m.reg.MustRegister(readinessCollector(cfg.Ready))
	}
	return m
}

// Handler serves the metrics in the Prometheus text format (or
// OpenMetrics, when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Middleware counts every request by route template, method and status,
// with its latency, and authentication failures by class. It belongs
// outside the request log (httpx.Config.Observe), so it sees the status the
// client got and the error a handler returned.
func (m *Metrics) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		m.inFlight.Inc()
		err := next(c)
		m.inFlight.Dec()
		status := c.Response().Status
		m.requests.WithLabelValues(routeOf(c), methodOf(c.Request().Method), strconv.Itoa(status)).Observe(time.Since(start).Seconds())
		if errors.Is(err, auth.ErrUnauthenticated) || errors.Is(err, auth.ErrNotReady) {
			m.authFails.WithLabelValues(auth.FailureClass(err)).Inc()
		}
		if r, ok := limits.RefusalOf(err); ok {
			m.refusals.WithLabelValues(string(r.Reason)).Inc()
		}
		if m.byTenant != nil {
			if _, tenant := reqctx.From(c.Request().Context()).IDs(); tenant != uuid.Nil {
				m.byTenant.WithLabelValues(tenant.String(), strconv.Itoa(status/100)+"xx").Inc()
			}
		}
		return err
	}
}

// Scope counts a scope's outcome and, for an admin scope that wrote its
// audit row, the audit write (a tenancy.Observer).
func (m *Metrics) Scope(_ context.Context, e tenancy.ScopeEvent) {
	m.scopes.WithLabelValues(string(e.Kind), string(e.Outcome)).Inc()
	if e.Audited {
		m.auditWrites.WithLabelValues(e.Action).Inc()
	}
}

// routeOf is the route template Echo matched, "unmatched" for a path no
// route knows: never the path itself, which holds ids.
func routeOf(c echo.Context) string {
	if p := c.Path(); p != "" {
		return p
	}
	return "unmatched"
}

// methodOf keeps the label set small: the standard methods, else OTHER.
func methodOf(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// PoolStat is what the metrics read of a connection pool: the methods of
// pgxpool.Stat (txscope's Scope.Stats returns those), named here so that
// only txscope imports pgxpool.
type PoolStat interface {
	AcquiredConns() int32
	IdleConns() int32
	ConstructingConns() int32
	TotalConns() int32
	MaxConns() int32
	AcquireCount() int64
	AcquireDuration() time.Duration
	EmptyAcquireCount() int64
	CanceledAcquireCount() int64
	NewConnsCount() int64
	MaxLifetimeDestroyCount() int64
	MaxIdleDestroyCount() int64
}

// PoolsOf adapts a statistics function (txscope's Scope.Stats) to
// MetricsConfig.Pools.
func PoolsOf[S PoolStat](stats func() map[string]S) func() map[string]PoolStat {
	return func() map[string]PoolStat {
		out := map[string]PoolStat{}
		for name, s := range stats() {
			out[name] = s
		}
		return out
	}
}

var (
	poolGauges = []struct {
		name, help string
		v          func(PoolStat) float64
	}{
		{"pgtenant_db_pool_acquired_conns", "Connections in use.", func(s PoolStat) float64 { return float64(s.AcquiredConns()) }},
		{"pgtenant_db_pool_idle_conns", "Idle connections.", func(s PoolStat) float64 { return float64(s.IdleConns()) }},
		{"pgtenant_db_pool_constructing_conns", "Connections being opened.", func(s PoolStat) float64 { return float64(s.ConstructingConns()) }},
		{"pgtenant_db_pool_total_conns", "Open connections.", func(s PoolStat) float64 { return float64(s.TotalConns()) }},
		{"pgtenant_db_pool_max_conns", "The pool's size (DB_MAX_CONNS).", func(s PoolStat) float64 { return float64(s.MaxConns()) }},
	}
	poolCounters = []struct {
		name, help string
		v          func(PoolStat) float64
	}{
		{"pgtenant_db_pool_acquires_total", "Connections acquired.", func(s PoolStat) float64 { return float64(s.AcquireCount()) }},
		{"pgtenant_db_pool_acquire_wait_seconds_total", "Time spent acquiring connections.", func(s PoolStat) float64 { return s.AcquireDuration().Seconds() }},
		{"pgtenant_db_pool_empty_acquires_total", "Acquires that waited for a connection (the pool was exhausted or still opening).", func(s PoolStat) float64 { return float64(s.EmptyAcquireCount()) }},
		{"pgtenant_db_pool_canceled_acquires_total", "Acquires abandoned by their context.", func(s PoolStat) float64 { return float64(s.CanceledAcquireCount()) }},
		{"pgtenant_db_pool_new_conns_total", "Connections opened.", func(s PoolStat) float64 { return float64(s.NewConnsCount()) }},
		{"pgtenant_db_pool_lifetime_destroys_total", "Connections closed for their age.", func(s PoolStat) float64 { return float64(s.MaxLifetimeDestroyCount()) }},
		{"pgtenant_db_pool_idle_destroys_total", "Connections closed for idling.", func(s PoolStat) float64 { return float64(s.MaxIdleDestroyCount()) }},
	}
)

// collectorFunc is a prometheus.Collector over a function that makes the
// metrics at scrape time.
type collectorFunc struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}
func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// poolCollector reports pgxpool statistics of each pool, labelled
// pool="runtime" or "admin".
func poolCollector(pools func() map[string]PoolStat) prometheus.Collector {
	gauges := make([]*prometheus.Desc, len(poolGauges))
	for i, g := range poolGauges {
		gauges[i] = prometheus.NewDesc(g.name, g.help, []string{"pool"}, nil)
	}
	counters := make([]*prometheus.Desc, len(poolCounters))
	for i, g := range poolCounters {
		counters[i] = prometheus.NewDesc(g.name, g.help, []string{"pool"}, nil)
	}
	return collectorFunc{descs: append(append([]*prometheus.Desc{}, gauges...), counters...), collect: func(ch chan<- prometheus.Metric) {
		for name, st := range pools() {
			for i, g := range poolGauges {
				ch <- prometheus.MustNewConstMetric(gauges[i], prometheus.GaugeValue, g.v(st), name)
			}
			for i, g := range poolCounters {
				ch <- prometheus.MustNewConstMetric(counters[i], prometheus.CounterValue, g.v(st), name)
			}
		}
	}}
}

// readinessStates are the values of pgtenant_readiness's state label.
var readinessStates = []string{"ready", "failing", "not_checked", "stale", "draining"}

// readinessCollector reports the readiness verdict /readyz gives: 1 on the
// current state, 0 on the others. "failing" is a failed self-check: the
// database unreachable, roles, pending migrations, or policy and catalog
// drift (the reason is in the log).
func readinessCollector(ready func() error) prometheus.Collector {
	state := prometheus.NewDesc("pgtenant_readiness", "The readiness verdict by state (ready, failing: the self-check found the database unreachable, a role problem or schema/policy drift, not_checked, stale, draining); 1 on the current one.", []string{"state"}, nil)
	up := prometheus.NewDesc("pgtenant_ready", "1 when /readyz answers 200.", nil, nil)
	return collectorFunc{descs: []*prometheus.Desc{state, up}, collect: func(ch chan<- prometheus.Metric) {
		err := ready()
		current := "failing"
		switch {
		case err == nil:
			current = "ready"
		case errors.Is(err, readiness.ErrDraining):
			current = "draining"
		case errors.Is(err, readiness.ErrNotChecked):
			current = "not_checked"
		case errors.Is(err, readiness.ErrStale):
			current = "stale"
		}
		for _, s := range readinessStates {
			ch <- prometheus.MustNewConstMetric(state, prometheus.GaugeValue, b2f(s == current), s)
		}
		ch <- prometheus.MustNewConstMetric(up, prometheus.GaugeValue, b2f(err == nil))
	}}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
