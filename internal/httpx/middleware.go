package httpx

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/reqctx"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// Context keys (Echo's per-request store).
const (
	keyRequestID = "pgtenant.request_id"
	keyIdentity  = "pgtenant.identity"
)

// validRequestID accepts a client's X-Request-Id only when it cannot inject
// anything into logs or headers.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// RequestID keeps a well-formed incoming X-Request-Id, or makes a random
// one, and echoes it in the response. It also gives the request a
// reqctx.Info, where the domain records the user and tenant it resolved.
func RequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(keyRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		ctx, _ := reqctx.With(c.Request().Context())
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// RequestIDOf returns the request's id (RequestID set it).
func RequestIDOf(c echo.Context) string {
	id, _ := c.Get(keyRequestID).(string)
	return id
}

// RequestLogger logs one line per request: request id, method, path,
// status, latency, peer, and the user and tenant ids the database resolved
// (when it resolved any); never the email, which is personal data.
// HandleError renders a handler's error (through the Echo error handler)
// before the line is written, so the logged status is the one the client
// got; without it Echo logs 200 for every error that is not an
// *echo.HTTPError.
func RequestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		HandleError: true,
		LogStatus:   true,
		LogMethod:   true,
		LogURIPath:  true,
		LogLatency:  true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			attrs := []any{
				"request_id", RequestIDOf(c), "method", v.Method, "path", v.URIPath,
				"status", v.Status, "latency_ms", float64(v.Latency.Microseconds()) / 1000,
				"peer", c.RealIP(),
			}
			user, tenant := reqctx.From(c.Request().Context()).IDs()
			if user != uuid.Nil {
				attrs = append(attrs, "user_id", user.String())
			}
			if tenant != uuid.Nil {
				attrs = append(attrs, "tenant_id", tenant.String())
			}
			log.Info("request", attrs...)
			return nil
		},
	})
}

// Recover turns a panic into a 500 (CodeInternal) and logs the stack
// server-side only.
func Recover(log *slog.Logger) echo.MiddlewareFunc {
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
				log.Error("panic in handler", "request_id", RequestIDOf(c), "panic", fmt.Sprint(r), "stack", string(buf))
				err = &tenancy.Error{Code: tenancy.CodeInternal, Message: "internal error", Err: fmt.Errorf("panic: %v", r)}
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
// identity for IdentityOf. Failures are 401 (503 while the authenticator
// has no keys); the reason is logged, never sent.
func AuthWithConfig(cfg AuthConfig) echo.MiddlewareFunc {
	if cfg.Authenticator == nil {
		panic("httpx: AuthConfig.Authenticator is required")
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
				return err // mapped to 401/503 by Failure
			}
			c.Set(keyIdentity, id)
			return next(c)
		}
	}
}

// IdentityOf returns the identity AuthWithConfig verified.
func IdentityOf(c echo.Context) (auth.Identity, bool) {
	id, ok := c.Get(keyIdentity).(auth.Identity)
	return id, ok
}

// Caller is the domain's view of the request: the verified identity, the
// request id and the TCP peer. Tenant is the tenant key the route names
// ("" for routes outside a tenant).
func Caller(c echo.Context, tenant string) tenancy.Caller {
	id, _ := IdentityOf(c)
	return tenancy.Caller{Email: id.Email, Tenant: tenant, RequestID: RequestIDOf(c), ClientAddr: c.RealIP()}
}

// NoStore marks responses uncacheable (they are per-user) and not to be
// sniffed.
func NoStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		return next(c)
	}
}
