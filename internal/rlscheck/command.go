package rlscheck

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes of `server rls-check`.
const (
	ExitClean    = 0 // every rule passed
	ExitFindings = 1 // at least one finding
	ExitNoCheck  = 2 // bad usage or configuration, or the check could not run (connection, missing roles)
)

// Env is the configuration the command falls back on when flags are absent
// (the server's DATABASE_URL, ADMIN_DATABASE_URL, MIGRATE_DATABASE_URL).
type Env struct {
	DatabaseURL        string
	AdminDatabaseURL   string
	MigrateDatabaseURL string
}

// Usage is the command's help text.
const Usage = `usage: server rls-check [--json] [--database-url URL] [--runtime-role ROLE] [--admin-role ROLE]
       server rls-check --rules

Lints the catalogs of a migrated database for tenant-isolation mistakes
(row-level security, policies, keys, views, functions, roles) and prints
every rule with ok or FAIL; --rules describes them.

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

// Command runs `server rls-check args...` and returns its exit code. The
// report goes to stdout; usage and errors to stderr.
func Command(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rls-check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		asJSON, listRules bool
		dbURL             string
		runtime, admin    listFlag
	)
	fs.BoolVar(&asJSON, "json", false, "")
	fs.BoolVar(&listRules, "rules", false, "")
	fs.StringVar(&dbURL, "database-url", "", "")
	fs.Var(&runtime, "runtime-role", "")
	fs.Var(&admin, "admin-role", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, Usage)
			return ExitClean
		}
		fmt.Fprintf(stderr, "rls-check: %v\n\n%s\n", err, Usage)
		return ExitNoCheck
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rls-check: unexpected argument %q\n\n%s\n", fs.Arg(0), Usage)
		return ExitNoCheck
	}
	if listRules {
		if err := WriteRules(stdout); err != nil {
			fmt.Fprintln(stderr, "rls-check:", err)
			return ExitNoCheck
		}
		return ExitClean
	}
	if dbURL == "" {
		dbURL = env.DatabaseURL
	}
	if dbURL == "" {
		dbURL = env.MigrateDatabaseURL
	}
	if dbURL == "" {
		fmt.Fprintln(stderr, "rls-check: no database: pass --database-url or set DATABASE_URL")
		return ExitNoCheck
	}
	opts := Options{RuntimeRoles: runtime, AdminRoles: admin}
	if len(opts.RuntimeRoles) == 0 {
		if u := URLUser(env.DatabaseURL); u != "" {
			opts.RuntimeRoles = []string{u}
		}
	}
	if len(opts.AdminRoles) == 0 {
		if u := URLUser(env.AdminDatabaseURL); u != "" {
			opts.AdminRoles = []string{u}
		}
	}
	rep, err := CheckURL(ctx, dbURL, opts)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ExitNoCheck
	}
	if asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "rls-check:", err)
		return ExitNoCheck
	}
	if !rep.Clean() {
		return ExitFindings
	}
	return ExitClean
}
