package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pgtenant/pgtenant/internal/config"
	"github.com/pgtenant/pgtenant/internal/rlscheck"
)

// Exit codes of `server rls-check` other than 0 (clean), in main's vocabulary.
const (
	rlsCheckFindings = exitFailure // at least one finding
	rlsCheckNoCheck  = exitUsage   // bad usage or configuration, or the check could not run (connection, missing roles)
)

const rlsCheckUsage = `usage: server rls-check [--json] [--database-url URL] [--runtime-role ROLE] [--admin-role ROLE]
       server rls-check --rules

Lints the catalogs of a migrated database for tenant-isolation mistakes
(row-level security, policy expressions read as Postgres stores them, keys,
views, functions, triggers, roles), compares them with what this binary's
embedded SQL produces, and prints every rule with ok or FAIL; --rules
describes them.

  --database-url URL   database to inspect (default DATABASE_URL, else
                       MIGRATE_DATABASE_URL); any role may read the catalogs
  --runtime-role ROLE  the API's role (default: the user of DATABASE_URL, else
                       pgtenant_app and its login members); repeatable
  --admin-role ROLE    the audited BYPASSRLS role (default: the user of
                       ADMIN_DATABASE_URL, else pgtenant_admin's login members)
  --json               one JSON document: clean, rules[], findings[] with
                       rule, severity, object, message, fix

exit status: 0 clean, 1 findings, 2 usage/configuration error or the check
could not run`

// rlsCheck runs the catalog lint (internal/rlscheck). The report goes to
// stdout; usage goes to stderr, and errors come back for main to print
// with their exit code (rlsCheckFindings, rlsCheckNoCheck).
func rlsCheck(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer) error {
	f, err := parseRLSCheckFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, rlsCheckUsage)
		return nil
	}
	if err != nil {
		return noCheck(fmt.Sprintf("rls-check: %v\n\n%s", err, rlsCheckUsage))
	}
	if f.rules {
		if err := rlscheck.WriteRules(stdout); err != nil {
			return noCheck("rls-check: " + err.Error())
		}
		return nil
	}
	dbURL, opts := f.target(cfg)
	if dbURL == "" {
		return noCheck("rls-check: no database: pass --database-url or set DATABASE_URL\n" +
			"  the `make run` database: set -a; . ./.devdb/env; set +a   (or: make rls-check)")
	}
	rep, err := rlscheck.CheckURL(ctx, dbURL, opts)
	if err != nil {
		return noCheck(err.Error()) // the library's errors start with "rls-check:" and hide passwords
	}
	if f.json {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return noCheck("rls-check: " + err.Error())
	}
	if !rep.Clean() {
		return exitError{code: rlsCheckFindings} // the report says what failed
	}
	return nil
}

func noCheck(msg string) error { return exitError{code: rlsCheckNoCheck, msg: msg} }

type rlsCheckFlags struct {
	json, rules          bool
	databaseURL          string
	runtimeRoles, admins listFlag
}

func parseRLSCheckFlags(args []string) (rlsCheckFlags, error) {
	var f rlsCheckFlags
	fs := flag.NewFlagSet("rls-check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&f.json, "json", false, "")
	fs.BoolVar(&f.rules, "rules", false, "")
	fs.StringVar(&f.databaseURL, "database-url", "", "")
	fs.Var(&f.runtimeRoles, "runtime-role", "")
	fs.Var(&f.admins, "admin-role", "")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, nil
}

// target is the database to inspect and the roles to judge, the flags
// first, then the server's own configuration: by default the lint checks
// the roles the server really connects as.
func (f rlsCheckFlags) target(cfg *config.Config) (string, rlscheck.Options) {
	dbURL := f.databaseURL
	if dbURL == "" {
		dbURL = cfg.DatabaseURL
	}
	if dbURL == "" {
		dbURL = cfg.MigrateDatabaseURL
	}
	opts := rlscheck.Options{RuntimeRoles: f.runtimeRoles, AdminRoles: f.admins}
	if len(opts.RuntimeRoles) == 0 {
		if u := rlscheck.URLUser(cfg.DatabaseURL); u != "" {
			opts.RuntimeRoles = []string{u}
		}
	}
	if len(opts.AdminRoles) == 0 {
		if u := rlscheck.URLUser(cfg.AdminDatabaseURL); u != "" {
			opts.AdminRoles = []string{u}
		}
	}
	return dbURL, opts
}

// listFlag is a repeatable flag that also accepts comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}
