// Package web is pgtenant's Echo JSON API.
//
// Every response that is not a success is an RFC 9457 problem
// (application/problem+json) with a stable code; SQL text, constraint
// names, stack traces and token details never reach a client. Handlers reach
// the database only through txscope, so every query runs under the tenant
// context the database resolved for the verified identity.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Config configures the API.
type Config struct {
	// Scope is the database. Required.
	Scope *txscope.Scope
	// Auth verifies identities. Required.
	Auth auth.Authenticator
	// Logger; default slog.Default().
	Logger *slog.Logger
	// BodyLimit bounds request bodies in bytes (default 1 MiB).
	BodyLimit int64
	// RequestTimeout bounds each request's context (default 10s).
	RequestTimeout time.Duration
	// BaseDomain, when set, also serves the tenant routes without the
	// /v1/tenants/{tenant} prefix on {slug}.{BaseDomain}.
	BaseDomain string
	// RBAC configures the API-level role check.
	RBAC RBACConfig
	// Ready is an extra readiness check (the database self-check).
	Ready func(ctx context.Context) error
}

// Server is the HTTP API.
type Server struct {
	e     *echo.Echo
	scope *txscope.Scope
	auth  auth.Authenticator
	log   *slog.Logger
	ready func(ctx context.Context) error
}

// New builds the API.
func New(cfg Config) (*Server, error) {
	if cfg.Scope == nil || cfg.Auth == nil {
		return nil, errors.New("web: Scope and Auth are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 1 << 20
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	s := &Server{scope: cfg.Scope, auth: cfg.Auth, log: cfg.Logger, ready: cfg.Ready}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(cfg.Logger)
	// The peer address is the TCP peer. X-Forwarded-For and X-Real-IP are
	// client-controlled and never decide anything here.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(
		requestIDMiddleware,
		requestLogger(cfg.Logger),
		recoverMiddleware(cfg.Logger),
		middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: byteSize(cfg.BodyLimit)}),
		middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{Timeout: cfg.RequestTimeout}),
		noStore,
	)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)

	// Middleware is attached per route, not per group: Echo's group
	// middleware registers catch-all routes that would answer a wrong method
	// with 404 instead of 405.
	authn := AuthWithConfig(AuthConfig{Authenticator: cfg.Auth})
	rbac := RBACWithConfig(cfg.RBAC)
	e.GET("/v1/me", s.me, authn)
	e.GET("/v1/admin/tenants", s.adminListTenants, authn)
	e.POST("/v1/admin/tenants", s.adminCreateTenant, authn)
	e.POST("/v1/admin/tenants/:id/suspend", s.adminTenantStatus("suspended"), authn)
	e.POST("/v1/admin/tenants/:id/resume", s.adminTenantStatus("active"), authn)
	e.GET("/v1/admin/audit", s.adminAudit, authn)
	s.dashboardRoutes(e, authn)
	s.tenantRoutes(e, "/v1/tenants/:tenant", authn, tenantFromPath, rbac)
	if cfg.BaseDomain != "" {
		s.tenantRoutes(e, "/v1", authn, tenantFromHost(cfg.BaseDomain), rbac)
	}
	s.e = e
	return s, nil
}

// tenantRoutes registers the routes that act inside one tenant under prefix.
func (s *Server) tenantRoutes(e *echo.Echo, prefix string, mw ...echo.MiddlewareFunc) {
	for _, r := range []struct {
		method, path string
		h            echo.HandlerFunc
	}{
		{http.MethodGet, "/projects", s.listProjects},
		{http.MethodPost, "/projects", s.createProject},
		{http.MethodGet, "/projects/:project", s.getProject},
		{http.MethodPatch, "/projects/:project", s.updateProject},
		{http.MethodDelete, "/projects/:project", s.deleteProject},
		{http.MethodGet, "/projects/:project/tasks", s.listTasks},
		{http.MethodPost, "/projects/:project/tasks", s.createTask},
		{http.MethodPatch, "/projects/:project/tasks/:task", s.updateTask},
		{http.MethodDelete, "/projects/:project/tasks/:task", s.deleteTask},
		{http.MethodGet, "/members", s.listMembers},
		{http.MethodPost, "/members", s.addMember},
		{http.MethodPatch, "/members/:user", s.setMemberRole},
		{http.MethodDelete, "/members/:user", s.removeMember},
	} {
		e.Add(r.method, prefix+r.path, r.h, mw...)
	}
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.e.ServeHTTP(w, r) }

// Echo exposes the router, for adding routes in extensions.
func (s *Server) Echo() *echo.Echo { return s.e }

func byteSize(n int64) string { return strconv.FormatInt(n, 10) + "B" }

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the database is reachable with the roles the
// server expects and the authenticator can verify tokens.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	if !s.auth.Ready() {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Detail: "not ready: identity keys not loaded", Internal: auth.ErrNotReady}
	}
	check := s.ready
	if check == nil {
		check = s.scope.Ping
	}
	if err := check(ctx); err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Detail: "not ready: database check failed", Internal: err}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
