package migrations

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Status describes where a database stands against the embedded SQL.
type Status struct {
	// Version is the applied schema version, -1 when none.
	Version int64
	Dirty   bool
	// Latest is the newest embedded schema version.
	Latest int64
	// Pending lists embedded versions newer than Version.
	Pending []uint
	// Policies lists every embedded policy file and its state.
	Policies []PolicyStatus
}

// PolicyStatus is one policy file's state: "applied", "changed" (the file
// differs from what was applied), "stale" (applied at another schema
// version), "missing" (never applied) or "drifted" (the catalog's policies,
// RLS flags or grants differ from what the last application left: tables
// recreated, or edited by hand).
type PolicyStatus struct {
	File  string
	State string
}

// UpToDate reports whether nothing is pending and every policy is applied.
func (s Status) UpToDate() bool {
	if s.Dirty || len(s.Pending) > 0 {
		return false
	}
	for _, p := range s.Policies {
		if p.State != "applied" {
			return false
		}
	}
	return true
}

// Problem returns a one-line description of why the database is not up to
// date, or "" when it is.
func (s Status) Problem() string {
	switch {
	case s.Dirty:
		return fmt.Sprintf("schema version %d is dirty (a migration failed halfway)", s.Version)
	case len(s.Pending) > 0:
		return fmt.Sprintf("schema version %d, %d migration(s) pending up to %d: run `server migrate up`", s.Version, len(s.Pending), s.Latest)
	}
	for _, p := range s.Policies {
		if p.State != "applied" {
			return fmt.Sprintf("policy file %s is %s: run `server migrate up`", p.File, p.State)
		}
	}
	return ""
}

// ReadStatus reads the migration and policy bookkeeping through q, which
// may be any role granted SELECT on it (the runtime role is, so `serve` can
// refuse to start on an outdated database).
func ReadStatus(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}) (Status, error) {
	versions, err := Versions()
	if err != nil {
		return Status{}, err
	}
	files, err := Policies()
	if err != nil {
		return Status{}, err
	}
	st := Status{Latest: int64(versions[len(versions)-1])}
	st.Version, st.Dirty, err = schemaVersion(ctx, q)
	if err != nil {
		return Status{}, fmt.Errorf("migrations: read schema version: %w", err)
	}
	for _, v := range versions {
		if int64(v) > st.Version {
			st.Pending = append(st.Pending, v)
		}
	}
	var exists bool
	if err := q.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", PolicyStateTable).Scan(&exists); err != nil {
		return Status{}, err
	}
	state := map[string]appliedPolicy{}
	if exists {
		if state, err = policyState(ctx, q); err != nil {
			return Status{}, fmt.Errorf("migrations: read policy state: %w", err)
		}
	}
	drifted := false
	if exists {
		fp, err := catalogFingerprint(ctx, q)
		if err != nil {
			return Status{}, fmt.Errorf("migrations: catalog fingerprint: %w", err)
		}
		drifted = state[catalogKey].sha256 != fp
	}
	for _, f := range files {
		ps := PolicyStatus{File: f.Name, State: "applied"}
		switch s, ok := state[f.Name]; {
		case !ok:
			ps.State = "missing"
		case drifted:
			ps.State = "drifted"
		case s.sha256 != f.SHA256:
			ps.State = "changed"
		case s.version != st.Version:
			ps.State = "stale"
		}
		st.Policies = append(st.Policies, ps)
	}
	return st, nil
}

// Status reads the database's status as the owner role.
func (r *Runner) Status(ctx context.Context) (Status, error) {
	conn, err := pgx.Connect(ctx, r.url)
	if err != nil {
		return Status{}, fmt.Errorf("migrations: connect: %w", redact(err, r.url))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return ReadStatus(ctx, conn)
}
