// Package server composes pgtenant's HTTP server: the shared Echo stack of
// internal/httpx, the JSON API (internal/api) and the Owner dashboard
// (internal/dashboard) on one router, and the health and readiness probes.
// It is the one place that knows both transports; neither knows the other.
package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/api"
	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/dashboard"
	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/readiness"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// Config configures the server.
type Config struct {
	// Service performs the operations. Required.
	Service *tenancy.Service
	// Auth verifies identities. Required.
	Auth auth.Authenticator
	// Logger; default slog.Default().
	Logger *slog.Logger
	// BodyLimit bounds request bodies in bytes (default 1 MiB).
	BodyLimit int64
	// RequestTimeout bounds each request's context (default 10s).
	RequestTimeout time.Duration
	// BaseDomain, when set, also serves the tenant routes on
	// {slug}.{BaseDomain} (see api.Config).
	BaseDomain string
	// Readiness holds the cached verdict of the database self-check and
	// turns not-ready when shutdown begins; while its Gate is closed (the
	// database is not what this binary expects) every route but the probes
	// and the OpenAPI document answers 503 schema_drift. Nil: ready
	// whenever the authenticator is, never gated (tests).
	Readiness *readiness.Monitor
	// Observe, when set, wraps every request for metrics and traces
	// (httpx.Config.Observe).
	Observe echo.MiddlewareFunc
	// Database, when set, reports whether the database is reachable
	// (txscope's Scope.Reachable): /readyz answers 503 while it returns an
	// error. It runs no query.
	Database func() error
}

// Server is the HTTP server's handler.
type Server struct {
	e     *echo.Echo
	auth  auth.Authenticator
	ready *readiness.Monitor
	db    func() error
}

// New builds the server.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil || cfg.Auth == nil {
		return nil, errors.New("server: Config.Service and Config.Auth are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := httpx.New(httpx.Config{Logger: cfg.Logger, BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout, Observe: cfg.Observe})
	s := &Server{e: e, auth: cfg.Auth, ready: cfg.Readiness, db: cfg.Database}
	if cfg.Auth.Mode() == auth.ModeDev {
		// Every path, the unauthenticated ones too: a DNS-rebinding page
		// must not even learn the server is there.
		e.Use(loopbackHostOnly)
	}
	e.Use(s.gate)
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if err := api.Mount(e, api.Config{Service: cfg.Service, Auth: cfg.Auth, BaseDomain: cfg.BaseDomain}); err != nil {
		return nil, err
	}
	if err := dashboard.Mount(e, dashboard.Config{Service: cfg.Service, Auth: cfg.Auth, Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	return s, nil
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.e.ServeHTTP(w, r) }

// Echo exposes the router, for adding routes in extensions and tests.
func (s *Server) Echo() *echo.Echo { return s.e }

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// loopbackHostOnly refuses (421) a request whose Host is not a loopback
// name: dev mode authenticates everyone as DEV_USER_EMAIL, and a page on
// another origin can reach a loopback listener by DNS rebinding (its name
// re-pointed at 127.0.0.1); its requests still carry its own host name.
func loopbackHostOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !auth.LoopbackHost(c.Request().Host) {
			return fmt.Errorf("%w: Host %q", auth.ErrMisdirected, c.Request().Host)
		}
		return next(c)
	}
}

// ungated are the paths served whatever the database looks like: the
// probes (so the operator sees the server alive and not ready), the
// OpenAPI document and the dashboard's stylesheet (neither reads the
// database).
var ungated = map[string]bool{"/healthz": true, "/readyz": true, api.OpenAPIPath: true, "/admin/static/admin.css": true}

// gate fails closed: while the last conclusive self-check found the
// database not as this binary expects (a policy, function, trigger, grant
// or RLS flag that differs from the committed ones, pending migrations,
// misconfigured roles), tenant, user and admin requests answer 503
// schema_drift naming what differs, instead of running under policies the
// binary did not ship (the OR-weakened projects policy of issue 11 leaked
// other tenants' projects over HTTP while /readyz said not ready). The
// verdict is the monitor's cached one (no query per request), refreshed
// every readiness interval (10 s by default), so a weakening is served for
// at most about one interval. A check that cannot conclude (the database
// unreachable) does not reopen the gate.
func (s *Server) gate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.ready == nil || ungated[c.Request().URL.Path] {
			return next(c)
		}
		if err := s.ready.Gate(); err != nil {
			return brief(tenancy.AsError(err))
		}
		return next(c)
	}
}

// brief keeps e's code and message but replaces its cause, which for a
// drifted catalog quotes every differing policy and function body, with
// the message: the readiness monitor logs the whole verdict whenever it
// changes, and every refused request need not log it again.
func brief(e *tenancy.Error) *tenancy.Error {
	b := *e
	b.Err = errors.New(e.Message + " (the readiness check's log line says what differs)")
	return &b
}

// readyz answers 200 when the authenticator can verify tokens and the last
// database self-check passed (see internal/readiness): the probe reads
// state and runs no query, so probes cost nothing and cannot pile up on a
// slow database. From the moment shutdown begins it answers 503.
func (s *Server) readyz(c echo.Context) error {
	if !s.auth.Ready() {
		return &tenancy.Error{Code: tenancy.CodeUnavailable, Message: "not ready: identity keys not loaded", Err: auth.ErrNotReady}
	}
	if s.ready != nil {
		if err := s.ready.Err(); errors.Is(err, readiness.ErrDraining) {
			return &tenancy.Error{Code: tenancy.CodeUnavailable, Message: "not ready: shutting down", Err: err}
		}
	}
	if s.db != nil {
		if err := s.db(); err != nil {
			return &tenancy.Error{Code: tenancy.CodeUnavailable, Message: "not ready: database unreachable", Err: err}
		}
	}
	if s.ready != nil {
		if err := s.ready.Err(); readiness.IsMismatch(err) {
			return brief(&tenancy.Error{Code: tenancy.CodeUnavailable, Message: "not ready: database check failed", Err: err})
		} else if err != nil {
			return &tenancy.Error{Code: tenancy.CodeUnavailable, Message: "not ready: database check failed", Err: err}
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
