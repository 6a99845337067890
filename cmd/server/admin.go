package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/pgtenant/pgtenant/internal/config"
	"github.com/pgtenant/pgtenant/internal/tenancy"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// adminService opens the audited admin pool (ADMIN_DATABASE_URL, one
// connection; txscope connects lazily, so nothing is dialled before an
// operation has validated its input) and the domain service on it. The
// returned function closes the pool.
func adminService(ctx context.Context, cfg *config.Config, log *slog.Logger) (*tenancy.Service, func(), error) {
	if err := cfg.Require("ADMIN_DATABASE_URL"); err != nil {
		return nil, nil, usageError{err}
	}
	scope, err := txscope.Open(ctx, txscope.Config{AdminDatabaseURL: cfg.AdminDatabaseURL, MaxConns: 1, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	svc, err := tenancy.New(tenancy.Config{Scope: scope, Logger: log})
	if err != nil {
		scope.Close()
		return nil, nil, err
	}
	return svc, scope.Close, nil
}

// cliOperator is the audit identity of server subcommands: the OS user on
// this host (there is no verified identity on a command line).
func cliOperator(reason string) (tenancy.Operator, error) {
	user := os.Getenv("USER")
	if user == "" {
		user = "unknown"
	}
	host, _ := os.Hostname()
	op, err := tenancy.CLIOperator("cli:"+user+"@"+host, reason)
	return op, cliError(err)
}

// cliError turns a domain error into the command line's terms: input the
// domain refused (a bad email, slug, name or reason) is a usage error
// (exit 2) naming the fields; anything else is a failure (exit 1) with the
// domain's message.
func cliError(err error) error {
	if err == nil {
		return nil
	}
	e := tenancy.AsError(err)
	msg := e.Message
	for _, f := range e.Fields {
		msg += "; " + f.Field + " " + f.Message
	}
	switch e.Code {
	case tenancy.CodeValidation, tenancy.CodeReasonRequired, tenancy.CodeBadRequest:
		return usageError{errors.New(msg)}
	case tenancy.CodeInternal, tenancy.CodeUnavailable:
		return err // the cause is the useful part for an operator at a terminal
	}
	return errors.New(msg)
}
