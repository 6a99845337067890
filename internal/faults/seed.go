package faults

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Tenant is a tenant the load acts in.
type Tenant struct {
	Slug  string
	ID    uuid.UUID
	Users []string // partners' emails
	// Seed is a project every page of the tenant's list contains (its
	// name is the first in order): an empty page means an empty context.
	Seed uuid.UUID
}

// NamePrefix is the prefix of every project name in tenant slug: a row
// whose name lacks it on a page of slug's list is another tenant's row.
func NamePrefix(slug string) string { return slug + "/" }

// Seed creates n tenants (t01, t02, ...) with users partners each
// (u1@t01.example, ...) and a seed project, as the superuser at superURL
// (fixtures, past RLS; the code under test never uses this connection).
func Seed(ctx context.Context, superURL string, n, users int) ([]Tenant, error) {
	conn, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	out := make([]Tenant, 0, n)
	for i := 1; i <= n; i++ {
		t := Tenant{Slug: fmt.Sprintf("t%02d", i)}
		if err := conn.QueryRow(ctx, "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", t.Slug).Scan(&t.ID); err != nil {
			return nil, fmt.Errorf("faults: seed tenant: %w", err)
		}
		for j := 1; j <= users; j++ {
			email := fmt.Sprintf("u%d@%s.example", j, t.Slug)
			var uid uuid.UUID
			if err := conn.QueryRow(ctx, "INSERT INTO users (email) VALUES ($1) RETURNING id", email).Scan(&uid); err != nil {
				return nil, fmt.Errorf("faults: seed user: %w", err)
			}
			if _, err := conn.Exec(ctx, "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'partner')", t.ID, uid); err != nil {
				return nil, fmt.Errorf("faults: seed member: %w", err)
			}
			t.Users = append(t.Users, email)
		}
		// created_at in the past: the seed project comes first in the
		// list's order (created_at, id), so every first page holds it.
		if err := conn.QueryRow(ctx, `INSERT INTO projects (tenant_id, name, created_at) VALUES ($1, $2, now() - interval '1 day') RETURNING id`,
			t.ID, NamePrefix(t.Slug)+"seed").Scan(&t.Seed); err != nil {
			return nil, fmt.Errorf("faults: seed project: %w", err)
		}
		out = append(out, t)
	}
	return out, nil
}

// Missing returns the acknowledged writes that the database does not hold
// as acknowledged (absent, in another tenant, or renamed), read as the
// superuser at superURL.
func Missing(ctx context.Context, superURL string, acks []Ack) ([]Ack, error) {
	conn, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	ids := make([]uuid.UUID, len(acks))
	for i, a := range acks {
		ids[i] = a.ID
	}
	rows, err := conn.Query(ctx, "SELECT p.id, t.slug, p.name FROM projects p JOIN tenants t ON t.id = p.tenant_id WHERE p.id = ANY($1)", ids)
	if err != nil {
		return nil, err
	}
	type row struct{ slug, name string }
	found := map[uuid.UUID]row{}
	for rows.Next() {
		var id uuid.UUID
		var r row
		if err := rows.Scan(&id, &r.slug, &r.name); err != nil {
			return nil, err
		}
		found[id] = r
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var missing []Ack
	for _, a := range acks {
		if r, ok := found[a.ID]; !ok || r.slug != a.Tenant || r.name != a.Name || !strings.HasPrefix(r.name, NamePrefix(a.Tenant)) {
			missing = append(missing, a)
		}
	}
	return missing, nil
}
