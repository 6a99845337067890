package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Context keys (Echo's per-request store).
const (
	keyRequestID = "pgtenant.request_id"
	keyIdentity  = "pgtenant.identity"
	keyTenant    = "pgtenant.tenant"
	keyAccess    = "pgtenant.access"
)

// validRequestID accepts a client's X-Request-Id only when it cannot inject
// anything into logs or headers.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestIDMiddleware keeps a well-formed incoming X-Request-Id, or makes a
// random one, and echoes it in the response.
func requestIDMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(keyRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

func requestID(c echo.Context) string {
	id, _ := c.Get(keyRequestID).(string)
	return id
}

// requestLogger logs one line per request. HandleError renders a handler's
// error (through errorHandler) before the line is written, so the logged
// status is the one the client got; without it Echo logs 200 for every
// error that is not an *echo.HTTPError.
func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		HandleError: true,
		LogStatus:   true,
		LogMethod:   true,
		LogURIPath:  true,
		LogLatency:  true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			attrs := []any{
				"request_id", requestID(c), "method", v.Method, "path", v.URIPath,
				"status", v.Status, "latency_ms", float64(v.Latency.Microseconds()) / 1000,
				"peer", c.RealIP(),
			}
			if id, ok := c.Get(keyIdentity).(auth.Identity); ok {
				attrs = append(attrs, "user", id.Email)
			}
			log.Info("request", attrs...)
			return nil
		},
	})
}

// recoverMiddleware turns a panic into a 500 problem and logs the stack
// server-side only.
func recoverMiddleware(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				r := recover()
				if r == nil || r == http.ErrAbortHandler {
					if r != nil {
						panic(r)
					}
					return
				}
				buf := make([]byte, 16<<10)
				buf = buf[:runtime.Stack(buf, false)]
				log.Error("panic in handler", "request_id", requestID(c), "panic", fmt.Sprint(r), "stack", string(buf))
				err = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Detail: "internal error", Internal: fmt.Errorf("panic: %v", r)}
			}()
			return next(c)
		}
	}
}

// AuthConfig configures the authentication middleware.
type AuthConfig struct {
	// Skipper skips authentication for some requests (none by default).
	Skipper middleware.Skipper
	// Authenticator verifies the request. Required.
	Authenticator auth.Authenticator
}

// AuthWithConfig authenticates every request it does not skip, storing the
// identity for identityOf. Failures are 401 (503 while the authenticator
// has no keys); the reason is logged, never sent.
func AuthWithConfig(cfg AuthConfig) echo.MiddlewareFunc {
	if cfg.Authenticator == nil {
		panic("web: AuthConfig.Authenticator is required")
	}
	if cfg.Skipper == nil {
		cfg.Skipper = middleware.DefaultSkipper
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.Skipper(c) {
				return next(c)
			}
			id, err := cfg.Authenticator.Authenticate(c.Request())
			if err != nil {
				return err // mapped to 401/503 by the error handler
			}
			c.Set(keyIdentity, id)
			return next(c)
		}
	}
}

func identityOf(c echo.Context) (auth.Identity, bool) {
	id, ok := c.Get(keyIdentity).(auth.Identity)
	return id, ok
}

// tenantFromPath takes the tenant from the :tenant path parameter.
func tenantFromPath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Param("tenant")
		if !rules.ValidTenantKey(key) {
			return apiError(http.StatusNotFound, CodeNotFound, "not found")
		}
		c.Set(keyTenant, strings.ToLower(key))
		return next(c)
	}
}

// tenantFromHost takes the tenant from the subdomain {slug}.{baseDomain}.
func tenantFromHost(baseDomain string) echo.MiddlewareFunc {
	suffix := "." + strings.ToLower(strings.TrimPrefix(baseDomain, "."))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			host := strings.ToLower(c.Request().Host)
			if h, _, ok := strings.Cut(host, ":"); ok {
				host = h
			}
			slug, ok := strings.CutSuffix(host, suffix)
			if !ok || !rules.ValidSlug(slug) {
				return apiError(http.StatusNotFound, CodeNotFound, "not found")
			}
			c.Set(keyTenant, slug)
			return next(c)
		}
	}
}

// Access is what a route needs from the caller's role.
type Access int

// Access levels.
const (
	// AccessUnchecked: the API does not check the role; the database alone
	// decides (RBAC skipped).
	AccessUnchecked Access = iota
	// AccessRead: any member (and Owners).
	AccessRead
	// AccessWrite: Owners and Partners.
	AccessWrite
)

// RBACConfig configures the role check of tenant routes.
type RBACConfig struct {
	// Skipper turns the API-level check off for a request; the database
	// still enforces the same rules. Tests use it to prove that.
	Skipper middleware.Skipper
	// AccessFor decides what a request needs. Default: GET and HEAD read,
	// every other method writes.
	AccessFor func(c echo.Context) Access
}

// RBACWithConfig records the access a tenant route needs. The check itself
// happens in the scope's first round trip, where the database reports the
// caller's role (no extra query): a member without the right gets 403
// before any handler query runs; a non-member gets 404.
func RBACWithConfig(cfg RBACConfig) echo.MiddlewareFunc {
	if cfg.Skipper == nil {
		cfg.Skipper = middleware.DefaultSkipper
	}
	if cfg.AccessFor == nil {
		cfg.AccessFor = func(c echo.Context) Access {
			switch c.Request().Method {
			case http.MethodGet, http.MethodHead:
				return AccessRead
			}
			return AccessWrite
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			access := AccessUnchecked
			if !cfg.Skipper(c) {
				access = cfg.AccessFor(c)
			}
			c.Set(keyAccess, access)
			return next(c)
		}
	}
}

// who builds the scope caller for a request.
func who(c echo.Context) txscope.Who {
	id, _ := identityOf(c)
	tenant, _ := c.Get(keyTenant).(string)
	access, _ := c.Get(keyAccess).(Access)
	return txscope.Who{Email: id.Email, Tenant: tenant, SkipRoleCheck: access != AccessWrite}
}

// noStore marks API responses uncacheable: they are per-user.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		return next(c)
	}
}
