// Package tenancy is pgtenant's domain layer: every operation the API, the
// Owner dashboard and the command line perform, and the rules they share.
//
// Transports decode a request into a Caller (the verified identity and the
// tenant the request names) and typed inputs, call an operation, and encode
// what it returns: domain types, never sqlc's, and on failure one *Error
// whose Code is stable. An operation validates its input before any query,
// decides whether it reads or writes, and runs in exactly one scope of
// internal/txscope, so the database resolves the caller's context and
// row-level security applies to every statement:
//
//   - reads run in a read-only scope (any member of the tenant, or an
//     Owner);
//   - writes run in one read-write transaction; a caller whose role may not
//     write is refused with CodeForbidden before any statement of the
//     operation runs, and the database refuses the same writes on its own;
//   - cross-tenant work (tenants, owners, the audit log, seeding) needs an
//     Operator, an Owner the database vouched for or the command line, and a
//     reason, and runs in the audited admin scope.
package tenancy

import (
	"context"
	"errors"
	"log/slog"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Config configures a Service.
type Config struct {
	// Scope is the database. Required.
	Scope *txscope.Scope
	// Logger receives refusals worth an operator's attention (a non-Owner
	// at the admin API). Default slog.Default().
	Logger *slog.Logger
	// SkipRoleCheck turns off the Go-side role check of writes: a Client
	// Viewer's write then reaches the database, which refuses it on its
	// own (read-only transaction, restrictive writer policies). Tests set
	// it to prove that; production code must not.
	SkipRoleCheck bool
	// Observer, when set, sees every scope the service runs (metrics,
	// traces).
	Observer Observer
}

// Service performs the operations.
type Service struct {
	scope         *txscope.Scope
	log           *slog.Logger
	skipRoleCheck bool
	observer      Observer
}

// New returns a Service on cfg.Scope.
func New(cfg Config) (*Service, error) {
	if cfg.Scope == nil {
		return nil, errors.New("tenancy: Config.Scope is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{scope: cfg.Scope, log: cfg.Logger, skipRoleCheck: cfg.SkipRoleCheck, observer: cfg.Observer}, nil
}

// Caller is who asks for an operation, as the transport established it.
type Caller struct {
	// Email is the verified identity, normalized (rules.NormalizeEmail).
	Email string
	// Tenant names the tenant the request acts in, by slug or id; empty
	// for operations outside a tenant (Me, the Owner check).
	Tenant string
	// RequestID and ClientAddr go to logs and audit rows.
	RequestID  string
	ClientAddr string
}

// read runs fn in a read scope as c.
func (s *Service) read(ctx context.Context, c Caller, fn func(*txscope.Tx) error) error {
	var e entered
	err := s.scope.Read(ctx, txscope.Who{Email: c.Email, Tenant: c.Tenant}, e.capture(ctx, fn))
	s.observe(ctx, e.event(ScopeRead, err), err)
	return fail(err)
}

// write runs fn in one read-write transaction as c, after the role check.
func (s *Service) write(ctx context.Context, c Caller, fn func(*txscope.Tx) error) error {
	var e entered
	err := s.scope.Write(ctx, txscope.Who{Email: c.Email, Tenant: c.Tenant, SkipRoleCheck: s.skipRoleCheck}, e.capture(ctx, fn))
	s.observe(ctx, e.event(ScopeWrite, err), err)
	return fail(err)
}

// one runs a single statement that returns a row in a scope (read or
// write) and converts the row: the skeleton of every get, create and
// update.
func one[R, T any](ctx context.Context, scope func(context.Context, Caller, func(*txscope.Tx) error) error, c Caller,
	stmt func(ctx context.Context, q *dbgen.Queries) (R, error), conv func(R) T) (T, error) {
	var row R
	err := scope(ctx, c, func(tx *txscope.Tx) error {
		var err error
		row, err = stmt(ctx, tx.Q)
		return err
	})
	return conv(row), err
}

// lister reads one keyset page of a tenant list.
type lister[R any] struct {
	list  listing
	first func(ctx context.Context, q *dbgen.Queries, lim int32) ([]R, error)
	after func(ctx context.Context, q *dbgen.Queries, after position, lim int32) ([]R, error)
	pos   func(R) position
	// parent, when set, runs after an empty page to tell "nothing here yet"
	// from "no such parent" (a 404), at the cost of one statement.
	parent func(ctx context.Context, q *dbgen.Queries) error
}

// readPage reads the page r asks for in a read scope as c.
func readPage[R, T any](ctx context.Context, s *Service, c Caller, l lister[R], r PageRequest, conv func(R) T) (Page[T], error) {
	limit, after, err := l.list.start(r)
	if err != nil {
		return Page[T]{}, err
	}
	var rows []R
	err = s.read(ctx, c, func(tx *txscope.Tx) error {
		var err error
		if after == nil {
			rows, err = l.first(ctx, tx.Q, int32(limit+1))
		} else {
			rows, err = l.after(ctx, tx.Q, *after, int32(limit+1))
		}
		if err == nil && len(rows) == 0 && l.parent != nil {
			err = l.parent(ctx, tx.Q)
		}
		return err
	})
	if err != nil {
		return Page[T]{}, err
	}
	return page(l.list, rows, limit, conv, l.pos), nil
}
