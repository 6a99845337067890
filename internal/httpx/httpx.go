// Package httpx is the HTTP plumbing pgtenant's transports share: the Echo
// instance with its middleware (request id, request log, recover, body
// limit, deadline, no-store), authentication, request decoding, and the one
// mapping from error codes to HTTP statuses and RFC 9457 problems.
//
// It knows the domain only through internal/tenancy's public types (the
// error vocabulary, Caller, PageRequest); it never reaches the database.
// internal/api and internal/dashboard build on it and not on each other.
package httpx

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Config configures the shared Echo instance.
type Config struct {
	// Logger; default slog.Default().
	Logger *slog.Logger
	// BodyLimit bounds request bodies in bytes (default 1 MiB).
	BodyLimit int64
	// RequestTimeout bounds each request's context (default 10s).
	RequestTimeout time.Duration
	// Observe, when set, wraps every request inside the request id and
	// outside the request log (metrics, traces): it sees the route, the
	// final status and the error a handler returned.
	Observe echo.MiddlewareFunc
}

// New returns an Echo instance with the middleware every route gets, in
// this order: HEAD routed like GET, request id, no-store, Observe (when
// set), request log, recover, body limit, deadline. Every error a handler
// returns becomes a problem+json response (ErrorHandler) unless a route
// renders its own (the dashboard does).
//
// The headers every response carries (X-Request-Id, Cache-Control,
// X-Content-Type-Options) are set before anything can refuse the request,
// so a 413 from the body limit or a 405 carries them too.
func New(cfg Config) *echo.Echo {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 1 << 20
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = ErrorHandler(cfg.Logger)
	// The peer address is the TCP peer. X-Forwarded-For and X-Real-IP are
	// client-controlled and never decide anything here.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Pre(routeHeadAsGet)
	e.Use(restoreHead, RequestID, NoStore)
	if cfg.Observe != nil {
		e.Use(cfg.Observe)
	}
	e.Use(
		RequestLogger(cfg.Logger),
		Recover(cfg.Logger),
		middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: strconv.FormatInt(cfg.BodyLimit, 10) + "B"}),
		middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{Timeout: cfg.RequestTimeout}),
	)
	return e
}
