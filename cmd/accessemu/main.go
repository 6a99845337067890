// Command accessemu is a local stand-in for Cloudflare Access, for trying
// pgtenant's Cloudflare mode on one machine: it serves a team's signing
// keys (JWKS) at /cdn-cgi/access/certs and mints Access-shaped tokens for
// any email at /token?email=..., on loopback only.
//
//	go run ./cmd/accessemu [-addr 127.0.0.1:9901] [-aud pgtenant-local] [-ttl 12h]
//
// It prints the server environment that trusts it (.env.example has the
// same values). Tokens it mints verify exactly like Cloudflare's (RS256,
// kid, aud, iss, exp, type "app"), so the server runs its real
// verification; only the team is fake.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "accessemu:", err)
		os.Exit(2)
	}
}

// reporter turns the issuer's reports into log lines; a failure to mint
// is a panic, which the HTTP server turns into a dropped request.
type reporter struct{}

func (reporter) Helper()                           {}
func (reporter) Errorf(format string, args ...any) { log.Printf(format, args...) }
func (reporter) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// run serves until ctx ends. ready, when not nil, receives the listen
// address once serving (tests).
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("accessemu", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9901", "listen address (loopback only)")
	aud := fs.String("aud", "pgtenant-local", "the application AUD tag tokens carry (CF_ACCESS_AUD)")
	ttl := fs.Duration("ttl", 12*time.Hour, "lifetime of minted tokens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ttl <= 0 || *aud == "" {
		return errors.New("-ttl must be positive and -aud non-empty")
	}
	// Whoever reaches this port signs in as anyone: it must never listen
	// beyond this machine.
	ln, err := listenLoopback(*addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	iss := cfaccesstest.NewLocalIssuer(reporter{}, url, *aud)
	mux := http.NewServeMux()
	mux.Handle(cfaccesstest.CertsPath, iss)
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) {
		email := rules.NormalizeEmail(r.URL.Query().Get("email"))
		if !rules.ValidEmail(email) {
			http.Error(w, "send ?email=someone@example.com", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, iss.UserToken(email, cfaccesstest.WithExpiry(time.Now().Add(*ttl))))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, usage(url, *aud))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprint(out, usage(url, *aud))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	defer stop()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-addr %q: %w", addr, err)
	}
	if a, err := netip.ParseAddr(host); (err != nil || !a.IsLoopback()) && host != "localhost" {
		return nil, fmt.Errorf("-addr %q: accessemu mints a token for any email, so it listens on loopback only (127.0.0.1, ::1)", addr)
	}
	return net.Listen("tcp", addr)
}

func usage(url, aud string) string {
	return strings.Join([]string{
		"accessemu: a local stand-in for Cloudflare Access on " + url + " (loopback only; never in production)",
		"",
		"server environment that trusts it (as in .env.example):",
		"  AUTH_MODE=cloudflare",
		"  CF_ACCESS_TEAM_DOMAIN=" + url,
		"  CF_ACCESS_AUD=" + aud,
		"  CF_ACCESS_INSECURE_LOOPBACK=1",
		"",
		"signing keys: " + url + cfaccesstest.CertsPath,
		"a token:      curl -s '" + url + "/token?email=dev@example.com'",
		"use it:       curl -H \"Cf-Access-Jwt-Assertion: $TOKEN\" http://127.0.0.1:8080/v1/me",
		"",
	}, "\n")
}
