package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/cfaccess"
	"github.com/pgtenant/pgtenant/internal/config"
	"github.com/pgtenant/pgtenant/internal/readiness"
	"github.com/pgtenant/pgtenant/internal/server"
	"github.com/pgtenant/pgtenant/internal/tenancy"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// serve runs the API until ctx ends (SIGTERM/SIGINT), then drains
// in-flight requests for up to SHUTDOWN_TIMEOUT. It only wires: the scope
// goes to the domain service, the service to the transports.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) > 0 {
		return usagef("serve takes no arguments")
	}
	if pct, set := gcPercent(os.Getenv); set {
		debug.SetGCPercent(pct)
	}
	// The admin pool is needed for the context key too: every tenant
	// scope signs app.enter with it (txscope, proof.go).
	if err := cfg.Require("DATABASE_URL", "ADMIN_DATABASE_URL"); err != nil {
		return usageError{err}
	}
	authn, closeAuth, err := newAuthenticator(ctx, cfg, log)
	if err != nil {
		return usageError{err}
	}
	defer closeAuth()
	tracing, err := startTracing(ctx, log)
	if err != nil {
		return usageError{err}
	}
	defer tracing.stop()

	scope, err := txscope.Open(ctx, txscope.Config{
		DatabaseURL: cfg.DatabaseURL, AdminDatabaseURL: cfg.AdminDatabaseURL,
		MaxConns: cfg.DBMaxConns, Logger: log, Tracer: tracing.queryTracer(),
		AcquireTimeout: cfg.DBAcquireTimeout, StatementTimeout: cfg.DBStatementTimeout, LockTimeout: cfg.DBLockTimeout,
		TenantShare: cfg.DBTenantShare, UserShare: cfg.DBUserShare,
		TenantRate: cfg.RateTenant, UserRate: cfg.RateUser,
	})
	if err != nil {
		return err
	}
	defer scope.Close()
	ready, stopChecks, err := startReadiness(ctx, scope, log)
	if err != nil {
		return err
	}
	defer stopChecks() // before the pools close
	defer watchDatabase(ctx, scope, ready, log)()
	tenantShare, userShare := scope.Shares()
	log.Info("admission", "tenant_share", tenantShare, "user_share", userShare,
		"tenant_rate", cfg.RateTenant.PerSecond, "user_rate", cfg.RateUser.PerSecond, "acquire_timeout", cfg.DBAcquireTimeout.String())
	metrics, stopMetrics, err := serveMetrics(cfg, log, scope, readyErr(scope, ready))
	if err != nil {
		return err
	}
	defer stopMetrics()
	stopPprof, err := servePprof(cfg, log)
	if err != nil {
		return err
	}
	defer stopPprof()
	svc, err := tenancy.New(tenancy.Config{Scope: scope, Logger: log, Observer: metrics})
	if err != nil {
		return err
	}
	handler, err := server.New(server.Config{
		Service: svc, Auth: authn, Logger: log,
		BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout, BaseDomain: cfg.BaseDomain,
		Readiness: ready, Database: scope.Reachable, Observe: observe(tracing, metrics),
	})
	if err != nil {
		return err
	}
	if faultHook != nil {
		handler.Echo().Use(faultHook)
	}
	return listenAndDrain(ctx, cfg, log, handler, ready, authn.Mode())
}

// faultHook, when set, runs inside every request, after recovery and the
// deadline, right before the handler. Only the fault-injection build sets
// it (faults.go, build tag faultinject: `make soak` builds the server that
// way to inject handler panics); `make build` and the container image
// never include that file, and TestNoFaultHookInProductionBuild holds it.
var faultHook echo.MiddlewareFunc

// startReadiness runs the self-check once, which decides whether to start
// at all, then keeps re-running it in the background for /readyz. The
// returned function stops the checks and waits for the last one.
func startReadiness(ctx context.Context, scope *txscope.Scope, log *slog.Logger) (*readiness.Monitor, func(), error) {
	ready := readiness.New(readiness.Config{Check: scope.SelfCheck, Logger: log})
	checkCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err := ready.Refresh(checkCtx)
	cancel()
	if err != nil {
		return nil, nil, fmt.Errorf("refusing to start: %w", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { ready.Run(runCtx); close(done) }()
	return ready, func() { stop(); <-done }, nil
}

// watchDatabase probes the runtime database every second (txscope's
// Watch) while the server runs: /readyz turns 503 as soon as a connection
// cannot be opened and 200 again within about a second of the database's
// return. On its return the readiness self-check runs at once, rather than
// at its next interval, so its verdict from the outage does not linger.
// The returned function stops the probe and waits for it.
func watchDatabase(ctx context.Context, scope *txscope.Scope, ready *readiness.Monitor, log *slog.Logger) func() {
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		scope.Watch(wctx, time.Second, func(err error) {
			if err != nil {
				log.Warn("database unreachable: answering 503, not ready", "err", err.Error())
				return
			}
			log.Info("database reachable again")
			if wctx.Err() != nil { // shutting down: the checks have stopped
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				rctx, cancel := context.WithTimeout(wctx, readiness.DefaultTimeout)
				defer cancel()
				_ = ready.Refresh(rctx)
			}()
		})
	}()
	return func() { stop(); wg.Wait() }
}

// readyErr is the readiness the metrics report, as /readyz decides it:
// draining first, then the database's reachability, then the self-check.
func readyErr(scope *txscope.Scope, ready *readiness.Monitor) func() error {
	return func() error {
		err := ready.Err()
		if errors.Is(err, readiness.ErrDraining) {
			return err
		}
		if r := scope.Reachable(); r != nil {
			return r
		}
		return err
	}
}

// newHTTPServer is the API's http.Server with its timeouts: a client that
// trickles its headers (slowloris) or its body, is slow to take the
// answer, or keeps an idle connection open is cut off, so slow or idle
// clients cost a goroutine each for a bounded time and cannot starve
// others (TestSlowClients).
func newHTTPServer(cfg *config.Config, handler http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    32 << 10, // bounds a forged oversized token before any parsing
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// listenAndDrain serves handler on LISTEN_ADDR until ctx ends, then drains.
func listenAndDrain(ctx context.Context, cfg *config.Config, log *slog.Logger, handler http.Handler, ready *readiness.Monitor, mode auth.Mode) error {
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	srv := newHTTPServer(cfg, handler, log)
	log.Info("serving", "addr", ln.Addr().String(), "auth_mode", string(mode))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Not ready from now on, before the listener closes: a probe that is
	// already in flight gets 503, and so does any that arrives while
	// requests drain.
	ready.Drain()
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// newAuthenticator builds the authenticator of AUTH_MODE. The returned
// function releases it (stops the key refresher).
func newAuthenticator(ctx context.Context, cfg *config.Config, log *slog.Logger) (auth.Authenticator, func(), error) {
	switch cfg.AuthMode {
	case auth.ModeDev:
		// Dev mode authenticates anyone who can connect, as DEV_USER_EMAIL:
		// it must never be reachable from another machine.
		if !cfg.ListenIsLoopback() {
			return nil, nil, fmt.Errorf("config: AUTH_MODE=dev refuses LISTEN_ADDR %q: dev mode listens on loopback only (127.0.0.1, ::1, localhost)", cfg.ListenAddr)
		}
		a, err := auth.Dev(cfg.DevUserEmail)
		if err != nil {
			return nil, nil, err
		}
		log.Warn("AUTH_MODE=dev: every request is authenticated as DEV_USER_EMAIL; never use this in production", "email", cfg.DevUserEmail)
		return a, func() {}, nil
	case auth.ModeTrustedHeader:
		a, err := auth.TrustedHeader(cfg.TrustedProxyCIDRs)
		if err != nil {
			return nil, nil, err
		}
		log.Warn("AUTH_MODE=trusted-header: identity comes from the Cf-Access-Authenticated-User-Email header of trusted proxies, unverified",
			"trusted_proxy_cidrs", fmt.Sprint(cfg.TrustedProxyCIDRs))
		return a, func() {}, nil
	case auth.ModeCloudflare:
		if err := cfg.Require("CF_ACCESS_TEAM_DOMAIN", "CF_ACCESS_AUD"); err != nil {
			return nil, nil, err
		}
		if cfg.CFInsecureLoopback {
			log.Warn("CF_ACCESS_INSECURE_LOOPBACK=1: accepting an http:// team domain and certs URL on loopback; for local tests and benchmarks only")
		}
		// The first key fetch may take this long; after it the server
		// starts regardless and stays not-ready until keys load.
		fetchCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		v, err := cfaccess.New(fetchCtx, cfaccess.Config{
			TeamDomain:            cfg.CFTeamDomain,
			Audiences:             cfg.CFAudiences,
			CertsURL:              cfg.CFCertsURL,
			Skew:                  cfg.CFSkew,
			ServiceTokens:         cfg.CFServiceTokens,
			AllowInsecureLoopback: cfg.CFInsecureLoopback,
			Logger:                log,
		})
		var ce *cfaccess.ConfigError
		if errors.As(err, &ce) {
			return nil, nil, fmt.Errorf("config: %s: %s", cfEnvName(ce.Field), cfEnvReason(ce.Reason))
		}
		if err != nil {
			return nil, nil, err
		}
		return auth.Cloudflare(v, auth.CloudflareOptions{}), v.Close, nil
	}
	return nil, nil, fmt.Errorf("config: AUTH_MODE=%s is not supported", cfg.AuthMode)
}

// cfEnv maps cfaccess.Config fields to the variables they come from: an
// operator reads variable names, not Go fields.
var cfEnv = []struct{ field, env string }{
	{"TeamDomain", "CF_ACCESS_TEAM_DOMAIN"},
	{"Audiences", "CF_ACCESS_AUD"},
	{"CertsURL", "CF_ACCESS_CERTS_URL"},
	{"Skew", "CF_ACCESS_SKEW"},
	{"ServiceTokens", "CF_ACCESS_SERVICE_TOKENS"},
	{"AllowInsecureLoopback", "CF_ACCESS_INSECURE_LOOPBACK=1"},
}

// cfEnvName is the variable of a cfaccess.Config field.
func cfEnvName(field string) string {
	for _, m := range cfEnv {
		if m.field == field {
			return m.env
		}
	}
	return "CF_ACCESS_* (" + field + ")"
}

// cfEnvReason is a cfaccess.ConfigError's reason with the fields it
// mentions named by their variables.
func cfEnvReason(reason string) string {
	for _, m := range cfEnv {
		reason = strings.ReplaceAll(reason, m.field, m.env)
	}
	return reason
}

// defaultGCPercent is the collector's target when GOGC is unset: 200, not
// Go's 100. make bench-http-levers measured GOGC=200 at 1.11x the req/s of
// an unchanged server (the identical control at 1.02x) for 4 MB more
// peak RSS; a later run, noisier (control at 1.16x), could not tell them
// apart (issue 14, docs/benchmarks.md). The server shares its cores with
// PostgreSQL, which gets what the collector does not take.
const defaultGCPercent = 200

// gcPercent is the GC percent serve sets, and whether to set one: none
// when the operator set GOGC (the runtime has read it).
func gcPercent(getenv func(string) string) (int, bool) {
	if getenv("GOGC") != "" {
		return 0, false
	}
	return defaultGCPercent, true
}
