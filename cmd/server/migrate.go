package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pgtenant/pgtenant/internal/config"
	"github.com/pgtenant/pgtenant/internal/migrations"
	"github.com/pgtenant/pgtenant/internal/rlscheck"
)

const migrateUsage = "usage: server migrate up | down N | status | version | force V"

// migrateCmd runs golang-migrate on the embedded schema, as the owner role
// (MIGRATE_DATABASE_URL), then the policy files.
func migrateCmd(ctx context.Context, cfg *config.Config, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usagef(migrateUsage)
	}
	if err := cfg.Require("MIGRATE_DATABASE_URL"); err != nil {
		return usageError{err}
	}
	r, err := migrations.New(cfg.MigrateDatabaseURL)
	if err != nil {
		return usageError{err}
	}
	r.LockTimeout = cfg.MigrateLockTimeout
	sub, operands := args[0], args[1:]
	switch sub {
	case "up":
		return migrateUp(ctx, r, operands, out)
	case "down":
		return migrateDown(ctx, r, operands, out)
	case "status":
		return migrateStatus(ctx, r, out)
	case "version":
		return migrateVersion(ctx, r, out)
	case "force":
		return migrateForce(ctx, r, operands, out)
	default:
		return usagef("unknown migrate command %q: up | down N | status | version | force V", sub)
	}
}

func migrateUp(ctx context.Context, r *migrations.Runner, operands []string, out io.Writer) error {
	if len(operands) != 0 {
		return usagef("usage: server migrate up")
	}
	res, err := r.Up(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "schema: version %s -> %s\n", versionText(res.From), versionText(res.To))
	if len(res.PoliciesApplied) == 0 {
		fmt.Fprintln(out, "policies: unchanged")
	} else {
		fmt.Fprintf(out, "policies: applied %s\n", strings.Join(res.PoliciesApplied, ", "))
	}
	if len(res.Drift) > 0 {
		// What the policy files do not own: the server will not serve
		// tenant routes until it is gone (or committed).
		fmt.Fprintln(out, "still differs from what this binary expects (not something the policy files recreate or remove):")
		printFindings(out, res.Drift)
		return exitError{code: exitFailure, msg: "migrate up: the catalog still differs from what this binary expects: " + migrations.DriftSummary(res.Drift)}
	}
	return nil
}

// printFindings lists drift findings, one object and message each.
func printFindings(out io.Writer, fs []rlscheck.Finding) {
	for _, f := range fs {
		fmt.Fprintf(out, "  - %s (%s): %s\n", f.Object, f.Rule, f.Message)
	}
}

func migrateDown(ctx context.Context, r *migrations.Runner, operands []string, out io.Writer) error {
	n, err := migrateNumber("down", operands)
	if err != nil {
		return err
	}
	if n == 0 {
		return usagef("migrate down: N must be at least 1")
	}
	res, err := r.Down(ctx, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "schema: version %s -> %s\n", versionText(res.From), versionText(res.To))
	return nil
}

// migrateStatus prints the status and exits 3 when the database is not up
// to date, so scripts and readiness checks can test it.
func migrateStatus(ctx context.Context, r *migrations.Runner, out io.Writer) error {
	st, err := r.Status(ctx)
	if err != nil {
		return err
	}
	printStatus(out, st)
	if !st.UpToDate() {
		return exitError{code: exitOutdated}
	}
	return nil
}

func migrateVersion(ctx context.Context, r *migrations.Runner, out io.Writer) error {
	st, err := r.Status(ctx)
	if err != nil {
		return err
	}
	if st.Version < 0 {
		fmt.Fprintln(out, "none")
	} else {
		fmt.Fprintln(out, st.Version)
	}
	if st.Dirty {
		return exitError{code: exitFailure, msg: "dirty: a migration failed halfway"}
	}
	return nil
}

func migrateForce(ctx context.Context, r *migrations.Runner, operands []string, out io.Writer) error {
	n, err := migrateNumber("force", operands)
	if err != nil {
		return err
	}
	if err := r.Force(ctx, n); err != nil {
		return err
	}
	fmt.Fprintf(out, "schema: version forced to %d (not dirty)\n", n)
	return nil
}

// migrateNumber parses the one non-negative number `migrate sub N` takes.
func migrateNumber(sub string, operands []string) (int, error) {
	if len(operands) != 1 {
		return 0, usagef("usage: server migrate %s N", sub)
	}
	n, err := strconv.Atoi(operands[0])
	if err != nil || n < 0 {
		return 0, usagef("migrate %s: %q is not a non-negative number", sub, operands[0])
	}
	return n, nil
}

func printStatus(out io.Writer, st migrations.Status) {
	v := "none"
	if st.Version >= 0 {
		v = strconv.FormatInt(st.Version, 10)
	}
	dirty := ""
	if st.Dirty {
		dirty = " (dirty)"
	}
	fmt.Fprintf(out, "schema version: %s%s (latest embedded: %d)\n", v, dirty, st.Latest)
	if len(st.Pending) == 0 {
		fmt.Fprintln(out, "pending migrations: none")
	} else {
		ps := make([]string, len(st.Pending))
		for i, p := range st.Pending {
			ps[i] = strconv.FormatUint(uint64(p), 10)
		}
		fmt.Fprintf(out, "pending migrations: %s\n", strings.Join(ps, ", "))
	}
	fmt.Fprintln(out, "policies:")
	for _, p := range st.Policies {
		fmt.Fprintf(out, "  %-24s %s\n", p.File, p.State)
	}
	switch {
	case st.Expected != migrations.ExpectEmbedded:
		fmt.Fprintln(out, "catalog: compared with the fingerprint the last `migrate up` recorded (this binary's expectation is for another schema or PostgreSQL version)")
	case len(st.Drift) == 0:
		fmt.Fprintln(out, "catalog: as this binary expects")
	default:
		fmt.Fprintln(out, "catalog: differs from what this binary expects:")
		printFindings(out, st.Drift)
	}
	if st.UpToDate() {
		fmt.Fprintln(out, "status: up to date")
	} else {
		fmt.Fprintln(out, "status: NOT up to date: "+st.Problem())
	}
}

// versionText prints a schema version; migrations start at 1, so 0 is none.
func versionText(v uint) string {
	if v == 0 {
		return "none"
	}
	return strconv.FormatUint(uint64(v), 10)
}
