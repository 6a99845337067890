package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/config"
	"github.com/pgtenant/pgtenant/internal/telemetry"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// tracingRun is the server's tracing, or none (a nil *Tracing).
type tracingRun struct{ t *telemetry.Tracing }

// startTracing turns tracing on when the standard OTEL_* variables of the
// process ask for it (the OpenTelemetry SDK reads the process environment
// itself, so the decision does too).
func startTracing(ctx context.Context, log *slog.Logger) (tracingRun, error) {
	t, err := telemetry.TracingFromEnv(ctx, os.Getenv)
	if err == nil && t != nil {
		log.Info("tracing on: OTLP/HTTP", "endpoint", firstSet(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "http://localhost:4318"))
	}
	return tracingRun{t}, err
}

func (r tracingRun) queryTracer() pgx.QueryTracer {
	if r.t == nil {
		return nil
	}
	return r.t.QueryTracer()
}

// stop flushes the spans still queued, for at most 5 s.
func (r tracingRun) stop() {
	if r.t != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.t.Shutdown(ctx)
	}
}

// observe wraps every request: the trace span outside, so the metrics'
// time is inside it.
func observe(tr tracingRun, m *telemetry.Metrics) echo.MiddlewareFunc {
	if tr.t == nil {
		return m.Middleware
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc { return tr.t.Middleware(m.Middleware(next)) }
}

// serveMetrics builds the metrics and serves them at /metrics on
// METRICS_ADDR, a listener of its own: the API's listener never exposes
// them. A busy address stops the server at start. The returned function
// closes the listener.
func serveMetrics(cfg *config.Config, log *slog.Logger, scope *txscope.Scope, ready func() error) (*telemetry.Metrics, func(), error) {
	m := telemetry.NewMetrics(telemetry.MetricsConfig{Pools: telemetry.PoolsOf(scope.Stats), Ready: ready, TenantLabel: cfg.MetricsTenantLabel})
	if cfg.MetricsAddr == "" {
		return m, func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics: %w (METRICS_ADDR; off serves no metrics)", err)
	}
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err != nil || !ap.Addr().IsLoopback() {
		log.Warn("metrics listen on a non-loopback address: keep it off the public network", "addr", ln.Addr().String())
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener failed", "err", err)
		}
	}()
	log.Info("serving metrics", "addr", "http://"+ln.Addr().String()+"/metrics")
	return m, func() { _ = srv.Close() }, nil
}

// servePprof serves net/http/pprof on PPROF_ADDR (config allows loopback
// addresses only), on a mux of its own. (Importing net/http/pprof also
// registers its handlers on http.DefaultServeMux, which no listener of this
// server serves: the API is Echo's router, metrics have their own mux.)
// The returned function stops it.
func servePprof(cfg *config.Config, log *slog.Logger) (func(), error) {
	if cfg.PprofAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.PprofAddr)
	if err != nil {
		return nil, fmt.Errorf("pprof: %w (PPROF_ADDR)", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof listener failed", "err", err)
		}
	}()
	log.Warn("serving pprof: for profiling only", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { _ = srv.Close() }, nil
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
