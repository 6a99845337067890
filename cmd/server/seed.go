package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/pgtenant/pgtenant/internal/config"
	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// memberFlags collects repeated --member EMAIL:ROLE flags.
type memberFlags []member

type member struct{ email, role string }

func (m *memberFlags) String() string { return fmt.Sprint(*m) }

func (m *memberFlags) Set(v string) error {
	email, role, ok := strings.Cut(v, ":")
	email = rules.NormalizeEmail(email)
	if !ok || !rules.ValidEmail(email) {
		return fmt.Errorf("want EMAIL:ROLE, got %q", v)
	}
	if role != "partner" && role != "client_viewer" {
		return fmt.Errorf("role must be partner or client_viewer, got %q", role)
	}
	*m = append(*m, member{email, role})
	return nil
}

// demoProjects are what --demo puts in an otherwise empty tenant.
var demoProjects = []struct {
	name, description string
	tasks             []string
}{
	{"Website relaunch", "New marketing site, launch before the conference.", []string{"Draft sitemap", "Pick a typeface", "Write launch post"}},
	{"Customer onboarding", "Smoother first week for new customers.", []string{"Record walkthrough video", "Review welcome email"}},
}

// seedTenant creates (or finds) a tenant and its members through the audited
// admin scope. Running it twice changes nothing but the audit log.
func seedTenant(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("seed-tenant", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "tenant display name (required)")
	slug := fs.String("slug", "", "tenant slug (default: derived from --name)")
	reason := fs.String("reason", "cli: seed-tenant", "audit reason")
	demo := fs.Bool("demo", false, "add demo projects and tasks when the tenant has none of them")
	var members memberFlags
	fs.Var(&members, "member", "EMAIL:ROLE (partner or client_viewer); repeatable")
	if err := fs.Parse(args); err != nil {
		return usagef("seed-tenant: %v\nusage: server seed-tenant --name NAME [--slug SLUG] [--member EMAIL:ROLE ...] [--demo] [--reason TEXT]", err)
	}
	if fs.NArg() > 0 {
		return usagef("seed-tenant: unexpected argument %q", fs.Arg(0))
	}
	if strings.TrimSpace(*name) == "" || len([]rune(*name)) > 200 {
		return usagef("seed-tenant: --name is required (1-200 characters)")
	}
	if *slug == "" {
		*slug = rules.Slugify(*name)
	}
	if !rules.ValidSlug(*slug) {
		return usagef("seed-tenant: slug %q must be 1-63 lowercase letters, digits and inner dashes", *slug)
	}
	if err := cfg.Require("ADMIN_DATABASE_URL"); err != nil {
		return usageError{err}
	}
	scope, err := txscope.Open(ctx, txscope.Config{AdminDatabaseURL: cfg.AdminDatabaseURL, MaxConns: 1, Logger: log})
	if err != nil {
		return err
	}
	defer scope.Close()

	var (
		tenant  dbgen.AdminTenantEnsureRow
		created []string
	)
	entry, err := scope.Admin(ctx, cliActor(), "seed-tenant", *reason, func(tx *txscope.AdminTx) error {
		var err error
		tenant, err = tx.Q.AdminTenantEnsure(ctx, dbgen.AdminTenantEnsureParams{Slug: *slug, Name: strings.TrimSpace(*name)})
		if err != nil {
			return fmt.Errorf("tenant: %w", err)
		}
		tx.Target(tenant.ID)
		for _, m := range members {
			u, err := tx.Q.AdminUserEnsure(ctx, m.email)
			if err != nil {
				return fmt.Errorf("user %s: %w", m.email, err)
			}
			if _, err := tx.Q.AdminMembershipEnsure(ctx, dbgen.AdminMembershipEnsureParams{TenantID: tenant.ID, UserID: u.ID, Role: m.role}); err != nil {
				return fmt.Errorf("membership %s: %w", m.email, err)
			}
		}
		if *demo {
			for _, p := range demoProjects {
				n, err := tx.Q.AdminProjectEnsure(ctx, dbgen.AdminProjectEnsureParams{TenantID: tenant.ID, Name: p.name, Description: p.description})
				if err != nil {
					return fmt.Errorf("demo project: %w", err)
				}
				if n == 0 {
					continue // already there: leave it and its tasks alone
				}
				created = append(created, p.name)
				proj, err := tx.Q.AdminProjectByName(ctx, dbgen.AdminProjectByNameParams{TenantID: tenant.ID, Name: p.name})
				if err != nil {
					return err
				}
				for i, title := range p.tasks {
					if err := tx.Q.AdminTaskCreate(ctx, dbgen.AdminTaskCreateParams{TenantID: tenant.ID, ProjectID: proj.ID, Title: title, Done: i == 0}); err != nil {
						return fmt.Errorf("demo task: %w", err)
					}
				}
			}
		}
		tx.Detail("slug", tenant.Slug)
		tx.Detail("created", tenant.Created)
		tx.Detail("members", len(members))
		tx.Detail("demo_projects_created", len(created))
		return nil
	})
	if err != nil {
		return err
	}
	verb := "exists"
	if tenant.Created {
		verb = "created"
	}
	fmt.Fprintf(out, "tenant %s (%s) %s: id %s\n", tenant.Slug, tenant.Name, verb, tenant.ID)
	for _, m := range members {
		fmt.Fprintf(out, "member %s: %s\n", m.email, m.role)
	}
	if len(created) > 0 {
		fmt.Fprintf(out, "demo projects created: %s\n", strings.Join(created, ", "))
	}
	fmt.Fprintf(out, "audit entry %d\n", entry.ID)
	return nil
}

// cliActor is the audit identity of server subcommands: the OS user on this
// host (there is no verified identity on a command line).
func cliActor() txscope.Actor {
	user := os.Getenv("USER")
	if user == "" {
		user = "unknown"
	}
	host, _ := os.Hostname()
	return txscope.Actor{Email: "cli:" + user + "@" + host, Role: "cli"}
}
