package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/pgtenant/pgtenant/internal/config"
	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
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
	var email string
	switch {
	case verb == "list" && fs.NArg() == 0:
	case (verb == "add" || verb == "remove") && fs.NArg() == 1:
		email = rules.NormalizeEmail(fs.Arg(0))
		if !rules.ValidEmail(email) {
			return usagef("owner %s: %q is not an email address", verb, fs.Arg(0))
		}
	default:
		return usagef(use)
	}
	if err := cfg.Require("ADMIN_DATABASE_URL"); err != nil {
		return usageError{err}
	}
	scope, err := txscope.Open(ctx, txscope.Config{AdminDatabaseURL: cfg.AdminDatabaseURL, MaxConns: 1, Logger: log})
	if err != nil {
		return err
	}
	defer scope.Close()

	switch verb {
	case "add":
		var u dbgen.User
		_, err = scope.Admin(ctx, cliActor(), "owner.add", *reason, func(tx *txscope.AdminTx) error {
			u, err = tx.Q.AdminOwnerGrant(ctx, email)
			tx.Detail("email", email)
			return err
		})
		if err == nil {
			fmt.Fprintf(out, "owner %s (user %s)\n", u.Email, u.ID)
		}
	case "remove":
		_, err = scope.Admin(ctx, cliActor(), "owner.remove", *reason, func(tx *txscope.AdminTx) error {
			n, err := tx.Q.AdminOwnerRevoke(ctx, email)
			if err == nil && n == 0 {
				return fmt.Errorf("%s is not an owner: %w", email, txscope.ErrNotFound)
			}
			tx.Detail("email", email)
			return err
		})
		if err == nil {
			fmt.Fprintf(out, "%s is no longer an owner\n", email)
		}
	case "list":
		var owners []dbgen.User
		_, err = scope.Admin(ctx, cliActor(), "owner.list", *reason, func(tx *txscope.AdminTx) error {
			owners, err = tx.Q.AdminOwnerList(ctx)
			return err
		})
		for _, u := range owners {
			fmt.Fprintf(out, "%s\t%s\n", u.Email, u.ID)
		}
	}
	return err
}
