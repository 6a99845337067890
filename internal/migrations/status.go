package migrations

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgtenant/pgtenant/internal/rlscheck"
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
	// Expected says what the catalog was compared with: ExpectEmbedded
	// (the expectation this binary embeds, internal/rlscheck) or
	// ExpectRecorded (the fingerprint the last `migrate up` recorded, when
	// the embedded expectation does not apply to this database).
	Expected string
	// Drift lists how the catalog differs from the embedded expectation,
	// one finding of rls-check's drift rules each (ExpectEmbedded only;
	// against the recorded fingerprint, drift shows as the policy state
	// "drifted").
	Drift []rlscheck.Finding
}

// What Status.Expected compared the catalog with.
const (
	// ExpectEmbedded: rls-check's embedded expectation, a snapshot of a
	// database migrated from this binary's SQL. Used when the server's
	// major version and the schema version are the ones it was taken at:
	// the schema owner cannot rewrite it, and it names what differs.
	ExpectEmbedded = "embedded"
	// ExpectRecorded: the fingerprint of the catalog as the last `migrate
	// up` left it (pgtenant_policy_state), whenever the embedded
	// expectation does not apply: another PostgreSQL major version
	// (deparsed text may be worded differently), or a database migrated by
	// a newer binary during a rollout.
	ExpectRecorded = "recorded"
)

// PolicyStatus is one policy file's state: "applied", "changed" (the file
// differs from what was applied), "stale" (applied at another schema
// version), "missing" (never applied), "drifted" (the catalog differs from
// what the last application left: tables recreated, or something edited by
// hand) or "newer" (the database was migrated by a newer binary, whose
// files this one does not judge).
type PolicyStatus struct {
	File  string
	State string
}

// Ahead reports whether the database's schema is newer than this binary's:
// a rollout in progress (migrations must be backward compatible, so the
// older binary keeps serving, checking the catalog against what the newer
// binary's `migrate up` recorded).
func (s Status) Ahead() bool { return s.Version > s.Latest }

// UpToDate reports whether nothing is pending, every policy is applied and
// the catalog is what this binary expects.
func (s Status) UpToDate() bool { return s.Problem() == "" }

// Problem returns a one-line description of why the database is not up to
// date, or "" when it is. It names objects, never their SQL: the server
// shows it to clients of refused requests (internal/server).
func (s Status) Problem() string {
	switch {
	case s.Dirty:
		return fmt.Sprintf("schema version %d is dirty (a migration failed halfway)", s.Version)
	case len(s.Pending) > 0:
		return fmt.Sprintf("schema version %d, %d migration(s) pending up to %d: run `server migrate up`", s.Version, len(s.Pending), s.Latest)
	}
	// A file that was never applied, or changed, explains the rest; drift
	// is best told by the objects that differ.
	for _, p := range s.Policies {
		if p.State == "missing" || p.State == "changed" || p.State == "stale" {
			return fmt.Sprintf("policy file %s is %s: run `server migrate up`", p.File, p.State)
		}
	}
	if len(s.Drift) > 0 {
		return "the catalog differs from what this binary expects: " + DriftSummary(s.Drift) + ": run `server migrate up`"
	}
	for _, p := range s.Policies {
		if p.State == "drifted" {
			return "the catalog differs from what the last `server migrate up` left (policies, functions, triggers, grants or RLS flags): run `server migrate up`"
		}
	}
	return ""
}

// Explain is Problem followed by what differs, object by object, in the
// words of rls-check's drift rules (which quote SQL: for logs and
// operators, not for clients).
func (s Status) Explain() string {
	p := s.Problem()
	if p == "" || len(s.Drift) == 0 || !strings.HasPrefix(p, "the catalog differs") {
		return p
	}
	parts := []string{p}
	for _, f := range s.Drift {
		parts = append(parts, f.Object+": "+f.Message)
	}
	return strings.Join(parts, "; ")
}

// DriftSummary names the objects of findings, at most three, and how many
// more: "policy projects_isolation on public.projects, trigger ... (and 2
// more)".
func DriftSummary(fs []rlscheck.Finding) string {
	var objs []string
	seen := map[string]bool{}
	for _, f := range fs {
		if !seen[f.Object] {
			seen[f.Object] = true
			objs = append(objs, f.Object)
		}
	}
	if len(objs) <= 3 {
		return strings.Join(objs, ", ")
	}
	return fmt.Sprintf("%s (and %d more)", strings.Join(objs[:3], ", "), len(objs)-3)
}

// Beginner opens a transaction: a connection or a pool.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// ReadStatus reads the migration and policy bookkeeping and compares the
// catalog with what this binary expects, in one read-only transaction of
// db, which may be any role that may read the bookkeeping (the runtime role
// is granted it, so `serve` refuses to start on an outdated database and
// stops serving when it drifts: txscope's SelfCheck).
func ReadStatus(ctx context.Context, db Beginner) (Status, error) {
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Status{}, fmt.Errorf("migrations: read status: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// Deparsing a policy or trigger (pg_get_expr, pg_get_triggerdef) takes
	// a share lock on its table, in the catalog's order; `migrate up`
	// takes exclusive locks in the policy files' order. A status read
	// (every readiness interval, by every server) that met a migration
	// would deadlock with it, and Postgres may cancel the migration: so
	// the read gives up first, well before deadlock_timeout (1 s by
	// default), and reports a lock timeout.
	if _, err := tx.Exec(ctx, "SELECT pg_catalog.set_config('lock_timeout', $1, true)", statusLockTimeout); err != nil {
		return Status{}, fmt.Errorf("migrations: read status: %w", err)
	}
	return readStatus(ctx, tx)
}

// statusLockTimeout bounds ReadStatus's lock waits.
const statusLockTimeout = "250ms"

func readStatus(ctx context.Context, tx pgx.Tx) (Status, error) {
	versions, err := Versions()
	if err != nil {
		return Status{}, err
	}
	files, err := Policies()
	if err != nil {
		return Status{}, err
	}
	st := Status{Latest: int64(versions[len(versions)-1]), Expected: ExpectRecorded}
	st.Version, st.Dirty, err = schemaVersion(ctx, tx)
	if err != nil {
		return Status{}, fmt.Errorf("migrations: read schema version: %w", err)
	}
	for _, v := range versions {
		if int64(v) > st.Version {
			st.Pending = append(st.Pending, v)
		}
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", PolicyStateTable).Scan(&exists); err != nil {
		return Status{}, err
	}
	state := map[string]appliedPolicy{}
	if exists {
		if state, err = policyState(ctx, tx); err != nil {
			return Status{}, fmt.Errorf("migrations: read policy state: %w", err)
		}
	}
	drifted := false
	if exists {
		fp, err := catalogFingerprint(ctx, tx)
		if err != nil {
			return Status{}, fmt.Errorf("migrations: catalog fingerprint: %w", err)
		}
		drifted = state[catalogKey].sha256 != fp
	}
	if !st.Dirty && len(st.Pending) == 0 {
		var compared bool
		if st.Drift, compared, err = embeddedDrift(ctx, tx, st.Version); err != nil {
			return Status{}, err
		}
		if compared {
			st.Expected = ExpectEmbedded
		}
	}
	for _, f := range files {
		ps := PolicyStatus{File: f.Name, State: "applied"}
		switch s, ok := state[f.Name]; {
		case !ok:
			ps.State = "missing"
		case drifted:
			ps.State = "drifted"
		case st.Ahead():
			ps.State = "newer"
		case s.sha256 != f.SHA256:
			ps.State = "changed"
		case s.version != st.Version:
			ps.State = "stale"
		}
		st.Policies = append(st.Policies, ps)
	}
	return st, nil
}

// embeddedDrift compares the catalog with the expectation this binary
// embeds, when it applies to this database: taken on the same PostgreSQL
// major version (deparsed expressions are compared as text) at the same
// schema version. compared reports whether it did.
func embeddedDrift(ctx context.Context, tx pgx.Tx, version int64) (_ []rlscheck.Finding, compared bool, _ error) {
	want, err := rlscheck.Committed()
	if err != nil {
		return nil, false, err
	}
	var major int
	if err := tx.QueryRow(ctx, "SELECT current_setting('server_version_num')::int / 10000").Scan(&major); err != nil {
		return nil, false, err
	}
	if major != want.ServerMajor || version != want.SchemaVersion {
		return nil, false, nil
	}
	fs, err := rlscheck.Drift(ctx, tx, want)
	if err != nil {
		return nil, false, fmt.Errorf("migrations: compare with the embedded expectation: %w", err)
	}
	return fs, true, nil
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
