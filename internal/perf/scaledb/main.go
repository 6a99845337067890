// Command scaledb starts and stops the PostgreSQL cluster that make
// bench-scale measures: a throwaway cluster from the local binaries
// (internal/pglocal) under .bench/scaledb, tuned for a dataset of tens of
// millions of rows on this machine the way a production server would be
// (shared_buffers a quarter of memory), with durability off because the
// data is generated and thrown away (fsync, synchronous_commit and
// full_page_writes off speed up the load, not the reads).
//
//	go run ./internal/perf/scaledb start   # prints the superuser URL (for TEST_DATABASE_URL)
//	go run ./internal/perf/scaledb stop    # stops the cluster and deletes it
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pgtenant/pgtenant/internal/pglocal"
)

// Settings of the scale cluster; docs/benchmarks.md quotes them.
var settings = map[string]string{
	"shared_buffers":       "6GB",
	"effective_cache_size": "16GB",
	"maintenance_work_mem": "1GB",
	"max_wal_size":         "16GB",
	"max_connections":      "100",
	"fsync":                "off",
	"synchronous_commit":   "off",
	"full_page_writes":     "off",
}

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "scaledb:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: scaledb start|stop")
	}
	root, err := filepath.Abs(".bench/scaledb")
	if err != nil {
		return err
	}
	bin, err := pglocal.FindBinDir()
	if err != nil {
		return err
	}
	c, err := pglocal.New(bin, filepath.Join(root, "data"))
	if err != nil {
		return err
	}
	switch args[0] {
	case "start":
		if c.Exists() {
			if c.Running(ctx) {
				_ = c.Stop(ctx)
			}
			if err := os.RemoveAll(root); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(root, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(root, 0o755); err != nil { // the postgres user must reach the data dir
			return err
		}
		c.Settings = settings
		if err := c.Init(ctx); err != nil {
			return err
		}
		if err := c.Start(ctx); err != nil {
			return err
		}
		fmt.Println(c.SuperuserURL("postgres"))
		return nil
	case "stop":
		if c.Exists() && c.Running(ctx) {
			if err := c.Stop(ctx); err != nil {
				return err
			}
		}
		return os.RemoveAll(root)
	}
	return fmt.Errorf("unknown command %q (want start or stop)", args[0])
}
