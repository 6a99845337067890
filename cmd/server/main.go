// Command server is pgtenant's one binary: the API server and the operator
// commands that go with it.
//
//	server serve
//	server migrate up | down N | status | version | force V
//	server seed-tenant --name "Acme Corp" [--slug acme] [--member EMAIL:ROLE ...] [--demo]
//	server owner add EMAIL | remove EMAIL | list
//	server version
//	server context-proof --email EMAIL [--tenant T] [--read-only] [--ttl 1h]
//	server context-key rotate [--grace 24h]
//
// Configuration comes from the environment (.env.example lists it).
//
// Exit codes: 0 success; 1 failure; 2 bad usage or configuration; 3 (migrate
// status) the database is not up to date.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/pgtenant/pgtenant/internal/buildinfo"
	"github.com/pgtenant/pgtenant/internal/config"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitOutdated = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake in the command line or configuration (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitError carries a specific exit code with a message.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

const usage = `usage: server <command> [arguments]

commands:
  serve                         run the API server
  migrate up                    apply pending migrations, then changed policy files
  migrate down N                revert the last N migrations
  migrate status                show schema version, pending migrations and policy drift (exit 3 if not up to date)
  migrate version               print the schema version
  migrate force V               set the recorded version (repair after a failed migration)
  seed-tenant --name NAME [--slug SLUG] [--member EMAIL:ROLE ...] [--demo] [--reason TEXT]
                                create a tenant and its members (idempotent, audited;
                                ROLE is partner or client_viewer)
  rls-check [--json] [--rules]  lint the catalogs for tenant-isolation mistakes (exit 1 on findings)
  owner add EMAIL | remove EMAIL | list [--reason TEXT]
                                grant, revoke or list the global Owner role (audited)
  version                       print the version, VCS revision and Go version
  context-proof --email EMAIL [--tenant T] [--read-only] [--ttl 1h]
                                print a proof for app.enter (psql as that user; audited)
  context-key rotate [--grace 24h]
                                add a context key, retire the others after the grace (audited)

configuration: environment variables, see .env.example`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "version" { // needs no configuration
		fmt.Fprint(stdout, buildinfo.Get())
		return exitOK
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	log := newLogger(cfg, stderr)
	var cmdErr error
	switch args[0] {
	case "serve":
		cmdErr = serve(ctx, cfg, log, args[1:])
	case "migrate":
		cmdErr = migrateCmd(ctx, cfg, args[1:], stdout)
	case "seed-tenant":
		cmdErr = seedTenant(ctx, cfg, log, args[1:], stdout)
	case "rls-check":
		cmdErr = rlsCheck(ctx, cfg, args[1:], stdout, stderr)
	case "owner":
		cmdErr = ownerCmd(ctx, cfg, log, args[1:], stdout)
	case "context-proof":
		cmdErr = contextProofCmd(ctx, cfg, log, args[1:], stdout)
	case "context-key":
		cmdErr = contextKeyCmd(ctx, cfg, log, args[1:], stdout)
	default:
		cmdErr = usagef("unknown command %q\n\n%s", args[0], usage)
	}
	var (
		ue usageError
		ee exitError
	)
	switch {
	case cmdErr == nil:
		return exitOK
	case errors.As(cmdErr, &ee):
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	case errors.As(cmdErr, &ue):
		fmt.Fprintln(stderr, ue.err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "%s: %v\n", args[0], cmdErr)
		return exitFailure
	}
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
