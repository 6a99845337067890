package kit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/telemetry"
	"github.com/pgtenant/pgtenant/internal/tenancy"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Service returns a tenancy.Service on scope. opts adjust its configuration
// (a logger, SkipRoleCheck).
func Service(t testing.TB, scope *txscope.Scope, opts ...func(*tenancy.Config)) *tenancy.Service {
	t.Helper()
	cfg := tenancy.Config{Scope: scope, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := tenancy.New(cfg)
	if err != nil {
		t.Fatalf("kit: tenancy service: %v", err)
	}
	return s
}

// HeaderAuth is a test authenticator: the identity is the X-Test-Email
// header (normalized). It stands in for the real modes, which have tests
// of their own.
type HeaderAuth struct{}

// HeaderEmail is the header HeaderAuth reads.
const HeaderEmail = "X-Test-Email"

var _ auth.Authenticator = HeaderAuth{}

func (HeaderAuth) Authenticate(r *http.Request) (auth.Identity, error) {
	e := r.Header.Get(HeaderEmail)
	if e == "" {
		return auth.Identity{}, fmt.Errorf("%w: %w", auth.ErrUnauthenticated, auth.ErrNoCredential)
	}
	return auth.Identity{Email: rules.NormalizeEmail(e), Method: "test"}, nil
}
func (HeaderAuth) Ready() bool     { return true }
func (HeaderAuth) Mode() auth.Mode { return "test" }

// App is a World served over HTTP by one transport: a tenancy.Service on a
// traced scope, mounted on an httpx.New Echo.
type App struct {
	*pgtest.World
	Service *tenancy.Service
	// Echo is the router itself (for adding routes).
	Echo *echo.Echo
	// Handler is the router behind the contract check (Checked): what
	// tests send requests to. Every API request and answer through it is
	// validated against the OpenAPI document.
	Handler http.Handler
	// Queries counts the round trips the service's scope made.
	Queries *pgtest.RoundTrips
	// Scope is the service's scope (pool statistics).
	Scope *txscope.Scope
}

// AppConfig configures NewApp; the zero value serves with HeaderAuth, a
// silent logger and a 4 KiB body limit.
type AppConfig struct {
	Auth          auth.Authenticator
	Logger        *slog.Logger
	SkipRoleCheck bool
	// Observe, Observer and Tracer hook telemetry in: Observe wraps every
	// request (httpx.Config.Observe), Observer sees every scope, Tracer
	// every statement (with the round-trip counter).
	Observe  echo.MiddlewareFunc
	Observer tenancy.Observer
	Tracer   pgx.QueryTracer
	// Mount registers the transport's routes. Required.
	Mount func(e *echo.Echo, svc *tenancy.Service, a auth.Authenticator, log *slog.Logger) error
	// ScopeOptions adjust the scope's configuration (pool size, bounds,
	// shares, rates) after the kit's own settings.
	ScopeOptions []func(*txscope.Config)
}

// NewApp builds an App in a fresh World.
func NewApp(t testing.TB, cfg AppConfig) *App {
	t.Helper()
	if cfg.Auth == nil {
		cfg.Auth = HeaderAuth{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := &App{World: pgtest.NewWorld(t), Queries: &pgtest.RoundTrips{}}
	a.Scope = Scope(t, a.DB, append([]func(*txscope.Config){func(c *txscope.Config) {
		c.Tracer = telemetry.ComposeTracers(a.Queries, cfg.Tracer)
	}}, cfg.ScopeOptions...)...)
	a.Service = Service(t, a.Scope, func(c *tenancy.Config) {
		c.Logger, c.SkipRoleCheck, c.Observer = cfg.Logger, cfg.SkipRoleCheck, cfg.Observer
	})
	a.Echo = httpx.New(httpx.Config{Logger: cfg.Logger, BodyLimit: 4096, Observe: cfg.Observe})
	if err := cfg.Mount(a.Echo, a.Service, cfg.Auth, cfg.Logger); err != nil {
		t.Fatalf("kit: mount: %v", err)
	}
	a.Handler = Checked(t, a.Echo)
	return a
}

// Response is what a handler answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Problem decodes a problem+json body and checks its frame: content type,
// status, a code and a request id.
func (r Response) Problem(t testing.TB) httpx.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json: %s", ct, r.Body)
	}
	var p httpx.Problem
	r.JSON(t, &p)
	if p.Status != r.Status || p.Code == "" || p.RequestID == "" {
		t.Fatalf("problem %+v for status %d", p, r.Status)
	}
	return p
}

// Serve sends req to h.
func Serve(h http.Handler, req *http.Request) Response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// Request builds a request as email (none when ""); body is sent as is
// when a string, else as JSON, with Content-Type application/json.
func Request(t testing.TB, email, method, path string, body any) *http.Request {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if email != "" {
		req.Header.Set(HeaderEmail, email)
	}
	return req
}

// Do sends a request as email to the app.
func (a *App) Do(t testing.TB, email, method, path string, body any) Response {
	t.Helper()
	return Serve(a.Handler, Request(t, email, method, path, body))
}

// DoHost is Do with a Host header.
func (a *App) DoHost(t testing.TB, host, email, method, path string) Response {
	t.Helper()
	req := Request(t, email, method, path, nil)
	req.Host = host
	return Serve(a.Handler, req)
}

// SyncBuffer is a log sink safe for concurrent handlers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
