package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/pgtenant/pgtenant/internal/config"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// memberFlags collects repeated --member EMAIL:ROLE flags; the domain
// validates the email and the role.
type memberFlags []tenancy.MemberInput

func (m *memberFlags) String() string { return fmt.Sprint(*m) }

func (m *memberFlags) Set(v string) error {
	email, role, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("want EMAIL:ROLE, got %q", v)
	}
	*m = append(*m, tenancy.MemberInput{Email: email, Role: role})
	return nil
}

const seedUsage = "usage: server seed-tenant --name NAME [--slug SLUG] [--member EMAIL:ROLE ...] [--demo] [--reason TEXT]"

// seedTenant creates (or finds) a tenant and its members through the
// audited admin scope (tenancy.SeedTenant). A second run with the same
// arguments writes nothing, not even an audit row.
func seedTenant(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("seed-tenant", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var in tenancy.SeedInput
	fs.StringVar(&in.Name, "name", "", "tenant display name (required)")
	fs.StringVar(&in.Slug, "slug", "", "tenant slug (default: derived from --name)")
	reason := fs.String("reason", "cli: seed-tenant", "audit reason")
	fs.BoolVar(&in.Demo, "demo", false, "add demo projects and tasks when the tenant has none of them")
	fs.Var((*memberFlags)(&in.Members), "member", "EMAIL:ROLE (partner or client_viewer); repeatable")
	if err := fs.Parse(args); err != nil {
		return usagef("seed-tenant: %v\n%s", err, seedUsage)
	}
	if fs.NArg() > 0 {
		return usagef("seed-tenant: unexpected argument %q", fs.Arg(0))
	}
	if strings.TrimSpace(in.Name) == "" {
		return usagef("seed-tenant: --name is required (1-200 characters)")
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
	res, err := svc.SeedTenant(ctx, op, in)
	if err != nil {
		return cliError(err)
	}
	verb := "exists"
	if res.Created {
		verb = "created"
	}
	fmt.Fprintf(out, "tenant %s (%s) %s: id %s\n", res.Tenant.Slug, res.Tenant.Name, verb, res.Tenant.ID)
	for _, m := range res.Members {
		fmt.Fprintf(out, "member %s: %s\n", m.Email, m.Role)
	}
	if len(res.DemoProjects) > 0 {
		fmt.Fprintf(out, "demo projects created: %s\n", strings.Join(res.DemoProjects, ", "))
	}
	if !res.Changed {
		fmt.Fprintln(out, "nothing to change: no audit entry written")
		return nil
	}
	fmt.Fprintf(out, "audit entry %d\n", res.AuditID)
	return nil
}
