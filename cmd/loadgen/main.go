// Command loadgen writes a generated, skewed pgtenant dataset as a psql
// script (COPY ... FROM stdin blocks, as pg_dump writes them), for loading
// a database at scale:
//
//	go run ./cmd/loadgen -tenants 10000 -projects 10000000 -tasks 10000000 \
//	    -truncate -no-triggers | psql -X -q "$SUPERUSER_DATABASE_URL"
//
// It opens no connection itself: psql (or anything that speaks COPY) does
// the loading, as a role that bypasses row-level security (a superuser, or
// the BYPASSRLS admin role without -no-triggers). Tenant 0 is the largest;
// internal/perf documents the shape of the data. The same flags always
// produce the same rows.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pgtenant/pgtenant/internal/perf"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var spec perf.Spec
	fs.IntVar(&spec.Tenants, "tenants", 10000, "number of tenants")
	fs.Int64Var(&spec.Projects, "projects", 1000000, "projects over all tenants")
	fs.Int64Var(&spec.Tasks, "tasks", 1000000, "tasks over all tenants")
	fs.Int64Var(&spec.Comments, "comments", 0, "task comments over all tenants")
	fs.Int64Var(&spec.Members, "members", 0, "memberships (one user each); 0 = max(2*tenants, projects/20)")
	fs.Float64Var(&spec.Skew, "skew", 1, "Zipf exponent of tenant sizes (0 = uniform)")
	fs.Uint64Var(&spec.Seed, "seed", 1, "seed for ids")
	truncate := fs.Bool("truncate", false, "empty tenants, users, memberships, projects, tasks and task comments first (and COPY WITH FREEZE)")
	noTriggers := fs.Bool("no-triggers", false, "skip foreign-key triggers while loading (session_replication_role = replica; superuser only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	d, err := perf.NewDataset(spec)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(stdout, 1<<20)
	if err := d.WriteScript(w, *truncate, *noTriggers); err != nil {
		return err
	}
	return w.Flush()
}
