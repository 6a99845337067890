package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pgtenant/pgtenant/internal/config"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// contextProofCmd prints a context proof for app.enter, so an operator can
// look at the database as a user in a tenant (`TENANT=acme make psql`). The
// key is read and an audit row (context.proof) written in one admin
// transaction (ADMIN_DATABASE_URL).
//
//	server context-proof --email EMAIL [--tenant KEY] [--read-only] [--ttl 1h] [--reason TEXT]
func contextProofCmd(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, out io.Writer) error {
	const use = "usage: server context-proof --email EMAIL [--tenant SLUG_OR_ID] [--read-only] [--ttl 1h] [--reason TEXT]"
	fs := flag.NewFlagSet("context-proof", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "the user to act as")
	tenant := fs.String("tenant", "", "the tenant (slug or id)")
	readOnly := fs.Bool("read-only", false, "a proof for a read-only transaction")
	ttl := fs.Duration("ttl", time.Hour, "how long the proof stays valid")
	reason := fs.String("reason", "cli: context-proof", "audit reason")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *email == "" {
		return usagef("context-proof: %v\n%s", err, use)
	}
	if *ttl <= 0 || *ttl > tenancy.MaxProofTTL {
		return usagef("context-proof: --ttl must be between 0 and %s", tenancy.MaxProofTTL)
	}
	svc, closeSvc, err := adminService(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeSvc()
	op, err := cliOperator(*reason)
	if err != nil {
		return err
	}
	proof, err := svc.ContextProof(ctx, op, *email, *tenant, *readOnly, *ttl)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintln(out, proof)
	return nil
}

// contextKeyCmd rotates the context key: a new key signs from now on, the
// previous ones stay valid for --grace (servers re-read keys every minute).
//
//	server context-key rotate [--grace 24h] [--reason TEXT]
func contextKeyCmd(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, out io.Writer) error {
	const use = "usage: server context-key rotate [--grace 24h] [--reason TEXT]"
	if len(args) == 0 || args[0] != "rotate" {
		return usagef(use)
	}
	fs := flag.NewFlagSet("context-key", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	grace := fs.Duration("grace", 24*time.Hour, "how long proofs signed with the previous key stay valid")
	reason := fs.String("reason", "cli: context-key rotate", "audit reason")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 || *grace < 0 || *grace > 7*24*time.Hour {
		return usagef("context-key rotate: --grace must be a duration from 0 to 168h\n%s", use)
	}
	svc, closeSvc, err := adminService(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeSvc()
	op, err := cliOperator(*reason)
	if err != nil {
		return err
	}
	id, err := svc.RotateContextKey(ctx, op, *grace)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(out, "context key %d is current; older keys stay valid for %s\n", id, *grace)
	return nil
}
