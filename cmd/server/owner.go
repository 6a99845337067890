package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/pgtenant/pgtenant/internal/config"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
)

// ownerCmd grants, revokes and lists the platform Owner role, through the
// audited admin scope (ADMIN_DATABASE_URL). Owners are global: they reach
// every tenant (under RLS, like a member) and the cross-tenant admin API.
//
//	server owner add EMAIL [--reason TEXT]
//	server owner remove EMAIL [--reason TEXT]
//	server owner list [--reason TEXT]
func ownerCmd(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, out io.Writer) error {
	const use = "usage: server owner add EMAIL | remove EMAIL | list [--reason TEXT]"
	if len(args) == 0 {
		return usagef(use)
	}
	verb := args[0]
	fs := flag.NewFlagSet("owner", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	reason := fs.String("reason", "cli: owner "+verb, "audit reason")
	if err := fs.Parse(args[1:]); err != nil {
		return usagef("owner: %v\n%s", err, use)
	}
	switch {
	case verb == "list" && fs.NArg() == 0:
	case (verb == "add" || verb == "remove") && fs.NArg() == 1:
	default:
		return usagef(use)
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
	switch verb {
	case "add":
		u, err := svc.AddOwner(ctx, op, fs.Arg(0))
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(out, "owner %s (user %s)\n", u.Email, u.ID)
	case "remove":
		if err := svc.RemoveOwner(ctx, op, fs.Arg(0)); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(out, "%s is no longer an owner\n", rules.NormalizeEmail(fs.Arg(0)))
	case "list":
		owners, err := svc.ListOwners(ctx, op)
		if err != nil {
			return cliError(err)
		}
		if len(owners) == 0 {
			fmt.Fprintln(out, "no owners (server owner add EMAIL grants the role)")
		}
		for _, u := range owners {
			fmt.Fprintf(out, "%s\t%s\n", u.Email, u.ID)
		}
	}
	return nil
}
