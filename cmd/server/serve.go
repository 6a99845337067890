package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/cfaccess"
	"github.com/pgtenant/pgtenant/internal/config"
	"github.com/pgtenant/pgtenant/internal/txscope"
	"github.com/pgtenant/pgtenant/internal/web"
)

// serve runs the API until ctx ends (SIGTERM/SIGINT), then drains
// in-flight requests for up to SHUTDOWN_TIMEOUT.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) > 0 {
		return usagef("serve takes no arguments")
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

	scope, err := txscope.Open(ctx, txscope.Config{
		DatabaseURL: cfg.DatabaseURL, AdminDatabaseURL: cfg.AdminDatabaseURL,
		MaxConns: cfg.DBMaxConns, Logger: log,
	})
	if err != nil {
		return err
	}
	defer scope.Close()
	checkCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = scope.SelfCheck(checkCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}

	api, err := web.New(web.Config{
		Scope: scope, Auth: authn, Logger: log,
		BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout, BaseDomain: cfg.BaseDomain,
		Ready: scope.SelfCheck,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       cfg.RequestTimeout + 5*time.Second,
		WriteTimeout:      cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10, // bounds a forged oversized token before any parsing
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("serving", "addr", ln.Addr().String(), "auth_mode", string(authn.Mode()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
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
			return nil, nil, fmt.Errorf("config: %s: %s", cfEnvName(ce.Field), ce.Reason)
		}
		if err != nil {
			return nil, nil, err
		}
		return auth.Cloudflare(v, auth.CloudflareOptions{}), v.Close, nil
	}
	return nil, nil, fmt.Errorf("config: AUTH_MODE=%s is not supported", cfg.AuthMode)
}

// cfEnvName maps a cfaccess.Config field to the variable it comes from.
func cfEnvName(field string) string {
	switch field {
	case "TeamDomain":
		return "CF_ACCESS_TEAM_DOMAIN"
	case "Audiences":
		return "CF_ACCESS_AUD"
	case "CertsURL":
		return "CF_ACCESS_CERTS_URL"
	case "Skew":
		return "CF_ACCESS_SKEW"
	case "ServiceTokens":
		return "CF_ACCESS_SERVICE_TOKENS"
	}
	return "CF_ACCESS_* (" + field + ")"
}
