package pglocal

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Roles names the three login roles pgtenant runs as, and their passwords.
type Roles struct {
	Owner, OwnerPassword     string // owns the schema; runs migrations
	Runtime, RuntimePassword string // LOGIN IN ROLE pgtenant_app
	Admin, AdminPassword     string // LOGIN BYPASSRLS IN ROLE pgtenant_admin
}

// Bootstrap creates, as the superuser at superURL, the group roles the
// migrations would create, the three login roles (or resets their
// passwords), and database db owned by the owner role. Every step is
// idempotent and tolerates another process doing the same concurrently.
// This is what an operator does once per cluster (README, "Postgres roles").
func Bootstrap(ctx context.Context, superURL string, r Roles, db string) error {
	conn, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// Roles are cluster-wide: serialize with other bootstraps (test binaries
	// of several packages share one TEST_DATABASE_URL server), or concurrent
	// ALTER ROLE fails with "tuple concurrently updated".
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7236101005)"); err != nil {
		return err
	}
	type role struct{ name, attrs, password, in string }
	for _, x := range []role{
		{"pgtenant_app", "NOLOGIN NOBYPASSRLS", "", ""},
		{"pgtenant_admin", "NOLOGIN", "", ""},
		{r.Owner, "LOGIN CREATEROLE NOBYPASSRLS", r.OwnerPassword, ""},
		{r.Runtime, "LOGIN NOBYPASSRLS", r.RuntimePassword, "pgtenant_app"},
		{r.Admin, "LOGIN BYPASSRLS", r.AdminPassword, "pgtenant_admin"},
	} {
		name := pgx.Identifier{x.name}.Sanitize()
		if _, err := conn.Exec(ctx, `DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = `+quoteLiteral(x.name)+`) THEN
				BEGIN CREATE ROLE `+name+`; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
			END IF; END $$`); err != nil {
			return fmt.Errorf("create role %s: %w", x.name, err)
		}
		alter := "ALTER ROLE " + name + " " + x.attrs
		if x.password != "" {
			alter += " PASSWORD " + quoteLiteral(x.password)
		}
		if _, err := conn.Exec(ctx, alter); err != nil {
			return fmt.Errorf("alter role %s: %w", x.name, err)
		}
		if x.in != "" {
			if _, err := conn.Exec(ctx, "GRANT "+x.in+" TO "+name); err != nil {
				return fmt.Errorf("grant %s to %s: %w", x.in, x.name, err)
			}
		}
	}
	if db == "" {
		return nil
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()+" OWNER "+pgx.Identifier{r.Owner}.Sanitize()); err != nil {
			return fmt.Errorf("create database %s: %w", db, err)
		}
	}
	return nil
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings).
func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}
