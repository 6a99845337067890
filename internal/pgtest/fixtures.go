package pgtest

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Fixtures inserts test data as a superuser, past RLS. The code under test
// never sees this connection.
type Fixtures struct {
	conn *pgx.Conn
}

// Fixtures returns a fixture builder for the database.
func (d *DB) Fixtures(t testing.TB) *Fixtures {
	return &Fixtures{conn: Conn(t, d.SuperURL)}
}

func (f *Fixtures) id(t testing.TB, sql string, args ...any) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := f.conn.QueryRow(context.Background(), sql, args...).Scan(&id); err != nil {
		t.Fatalf("fixture %q: %v", sql, err)
	}
	return id
}

// Exec runs arbitrary SQL as a superuser (fault injection, status changes).
func (f *Fixtures) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := f.conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("fixture %q: %v", sql, err)
	}
}

// Tenant creates an active tenant with that slug.
func (f *Fixtures) Tenant(t testing.TB, slug string) uuid.UUID {
	t.Helper()
	return f.id(t, "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", slug)
}

// User creates a user.
func (f *Fixtures) User(t testing.TB, email string) uuid.UUID {
	t.Helper()
	return f.id(t, "INSERT INTO users (email) VALUES ($1) RETURNING id", email)
}

// Owner creates a platform Owner.
func (f *Fixtures) Owner(t testing.TB, email string) uuid.UUID {
	t.Helper()
	return f.id(t, "INSERT INTO users (email, is_owner) VALUES ($1, true) RETURNING id", email)
}

// Member makes user a member of tenant with role (partner | client_viewer).
func (f *Fixtures) Member(t testing.TB, tenant, user uuid.UUID, role string) {
	t.Helper()
	f.Exec(t, "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)", tenant, user, role)
}

// Project creates a project in tenant.
func (f *Fixtures) Project(t testing.TB, tenant uuid.UUID, name string) uuid.UUID {
	t.Helper()
	return f.id(t, "INSERT INTO projects (tenant_id, name) VALUES ($1, $2) RETURNING id", tenant, name)
}

// Task creates a task in a project of tenant.
func (f *Fixtures) Task(t testing.TB, tenant, project uuid.UUID, title string) uuid.UUID {
	t.Helper()
	return f.id(t, "INSERT INTO tasks (tenant_id, project_id, title) VALUES ($1, $2, $3) RETURNING id", tenant, project, title)
}

// Comment creates a comment by author on a task of tenant.
func (f *Fixtures) Comment(t testing.TB, tenant, task, author uuid.UUID, body string) uuid.UUID {
	t.Helper()
	return f.id(t, "INSERT INTO task_comments (tenant_id, task_id, author_id, body) VALUES ($1, $2, $3, $4) RETURNING id", tenant, task, author, body)
}
