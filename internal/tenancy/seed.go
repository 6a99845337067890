package tenancy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// SeedInput describes a tenant to create or complete.
type SeedInput struct {
	// Name is the display name (1-200 characters).
	Name string
	// Slug defaults to one derived from Name (rules.Slugify).
	Slug string
	// Members are added, or get the given role if already members.
	Members []MemberInput
	// Demo adds demo projects (with tasks) that the tenant lacks.
	Demo bool
}

// SeedResult is what SeedTenant found or made.
type SeedResult struct {
	Tenant  Tenant
	Created bool          // the tenant is new
	Members []MemberInput // as stored (emails normalized)
	// DemoProjects lists the demo projects created by this run.
	DemoProjects []string
	// Changed reports whether the run wrote anything; AuditID is the audit
	// row of a run that did, 0 for one that did not (it writes none).
	Changed bool
	AuditID int64
}

// errUnchanged ends a seed that found everything in place: the admin scope
// rolls back (there is nothing to roll back) and writes no audit row.
var errUnchanged = errors.New("tenancy: seed changed nothing")

// demoProjects are what Demo puts in a tenant that lacks them.
var demoProjects = []struct {
	name, description string
	tasks             []string
}{
	{"Website relaunch", "New marketing site, launch before the conference.", []string{"Draft sitemap", "Pick a typeface", "Write launch post"}},
	{"Customer onboarding", "Smoother first week for new customers.", []string{"Record walkthrough video", "Review welcome email"}},
}

// check validates the input and fills the defaults.
func (in *SeedInput) check() error {
	var fs fields
	fs.text("name", &in.Name, 1, rules.MaxNameLen, false)
	in.Name = strings.TrimSpace(in.Name)
	if in.Slug == "" {
		in.Slug = rules.Slugify(in.Name)
	}
	if !rules.ValidSlug(in.Slug) {
		fs.add("slug", fmt.Sprintf("%q %s", in.Slug, slugRule))
	}
	for i := range in.Members {
		in.Members[i].check(&fs, "members["+strconv.Itoa(i)+"].")
	}
	return fs.err()
}

// SeedTenant creates the tenant, or finds it by slug, and makes sure it has
// the members and (with Demo) the demo projects, in one audited admin
// action ("seed-tenant"). It is idempotent: a second run writes nothing,
// and so leaves no audit row either; a run that writes anything always
// leaves one.
func (s *Service) SeedTenant(ctx context.Context, op Operator, in SeedInput) (SeedResult, error) {
	if err := in.check(); err != nil {
		return SeedResult{}, err
	}
	res := SeedResult{Members: in.Members}
	entry, err := s.admin(ctx, op, "seed-tenant", func(tx *txscope.AdminTx) error {
		n, err := tx.Q.AdminTenantCreateIfMissing(ctx, dbgen.AdminTenantCreateIfMissingParams{Slug: in.Slug, Name: in.Name})
		if err != nil {
			return fmt.Errorf("tenant: %w", err)
		}
		t, err := tx.Q.AdminTenantBySlug(ctx, in.Slug)
		if err != nil {
			return fmt.Errorf("tenant: %w", err)
		}
		res.Tenant, res.Created = toTenant(t), n > 0
		tx.Target(t.ID)
		written, err := ensureMembers(ctx, tx.Q, res.Tenant, in.Members)
		if err != nil {
			return err
		}
		if in.Demo {
			if res.DemoProjects, err = ensureDemo(ctx, tx.Q, res.Tenant); err != nil {
				return err
			}
		}
		if res.Changed = res.Created || written > 0 || len(res.DemoProjects) > 0; !res.Changed {
			return errUnchanged
		}
		tx.Detail("slug", t.Slug)
		tx.Detail("created", res.Created)
		tx.Detail("members", len(in.Members))
		tx.Detail("members_written", written)
		tx.Detail("demo_projects_created", len(res.DemoProjects))
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return res, nil
	}
	res.AuditID = entry.ID
	return res, err
}

// ensureMembers creates missing users and memberships and sets the role of
// existing ones, writing only what differs; it returns how many users and
// memberships it wrote.
func ensureMembers(ctx context.Context, q *dbgen.Queries, t Tenant, ms []MemberInput) (int64, error) {
	var written int64
	for _, m := range ms {
		n, err := q.AdminUserCreateIfMissing(ctx, m.Email)
		if err != nil {
			return 0, fmt.Errorf("user %s: %w", m.Email, err)
		}
		u, err := q.AdminUserByEmail(ctx, m.Email)
		if err != nil {
			return 0, fmt.Errorf("user %s: %w", m.Email, err)
		}
		k, err := q.AdminMembershipEnsure(ctx, dbgen.AdminMembershipEnsureParams{TenantID: t.ID, UserID: u.ID, Role: m.Role})
		if err != nil {
			return 0, fmt.Errorf("membership %s: %w", m.Email, err)
		}
		written += n + k
	}
	return written, nil
}

// ensureDemo adds the demo projects the tenant lacks, each with its tasks
// (the first one done); a project already there keeps its own tasks. It
// returns the names of the projects it created.
func ensureDemo(ctx context.Context, q *dbgen.Queries, t Tenant) ([]string, error) {
	var created []string
	for _, p := range demoProjects {
		n, err := q.AdminProjectEnsure(ctx, dbgen.AdminProjectEnsureParams{TenantID: t.ID, Name: p.name, Description: p.description})
		if err != nil {
			return nil, fmt.Errorf("demo project: %w", err)
		}
		if n == 0 {
			continue
		}
		created = append(created, p.name)
		proj, err := q.AdminProjectByName(ctx, dbgen.AdminProjectByNameParams{TenantID: t.ID, Name: p.name})
		if err != nil {
			return nil, fmt.Errorf("demo project: %w", err)
		}
		for i, title := range p.tasks {
			if err := q.AdminTaskCreate(ctx, dbgen.AdminTaskCreateParams{TenantID: t.ID, ProjectID: proj.ID, Title: title, Done: i == 0}); err != nil {
				return nil, fmt.Errorf("demo task: %w", err)
			}
		}
	}
	return created, nil
}
