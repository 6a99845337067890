package main

import (
	"context"
	"io"

	"github.com/pgtenant/pgtenant/internal/config"
	"github.com/pgtenant/pgtenant/internal/rlscheck"
)

// rlsCheck runs the catalog lint (internal/rlscheck): exit 0 clean, 1
// findings, 2 usage or configuration error, or the check could not run.
func rlsCheck(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer) error {
	code := rlscheck.Command(ctx, args, rlscheck.Env{
		DatabaseURL:        cfg.DatabaseURL,
		AdminDatabaseURL:   cfg.AdminDatabaseURL,
		MigrateDatabaseURL: cfg.MigrateDatabaseURL,
	}, stdout, stderr)
	if code != rlscheck.ExitClean {
		return exitError{code: code} // the command printed its own report or error
	}
	return nil
}
