package txscope

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtenant/pgtenant/internal/limits"
)

// Every error a scope returns of its own, in one place. Driver errors are
// mapped to the domain errors below by mapError; the original error stays
// wrapped (errors.Is/As reach it) for server logs, while the HTTP edge
// answers with the domain error alone, so no SQL text, constraint name or
// key value reaches a client.
var (
	// ErrUnknownUser: the verified identity has no user row.
	ErrUnknownUser = errors.New("txscope: unknown user")
	// ErrTenantNotFound: the named tenant does not exist, is suspended, or the
	// user is neither a member nor an Owner. One error for all three, so the
	// API cannot be used as an existence oracle.
	ErrTenantNotFound = errors.New("txscope: tenant not found")
	// ErrForbidden: the user's role may not do this (e.g. a Client Viewer
	// writing).
	ErrForbidden = errors.New("txscope: forbidden")

	// ErrNotFound: no row, or a referenced row that is not visible (a
	// foreign key to another tenant's row fails exactly like a missing one).
	ErrNotFound = errors.New("txscope: not found")
	// ErrConflict: a unique constraint (scoped to the tenant) refused the row.
	ErrConflict = errors.New("txscope: conflict")
	// ErrInvalid: a check constraint, NOT NULL or a malformed value refused it.
	ErrInvalid = errors.New("txscope: invalid value")
	// ErrUnavailable: the database could not be reached or timed out, no
	// pool connection came free within the acquire bound, or the
	// connection broke under a statement. A limits.Refusal in the chain
	// says which, and when to retry.
	ErrUnavailable = errors.New("txscope: database unavailable")
	// ErrRateLimited: the user or the tenant started scopes faster than
	// its rate (Config.UserRate, TenantRate); nothing touched the
	// database. A limits.Refusal in the chain says which and when to retry.
	ErrRateLimited = errors.New("txscope: request rate limit reached")
	// ErrBusy: the user or the tenant held its share of the pool
	// (Config.UserShare, TenantShare) for the whole acquire bound.
	ErrBusy = errors.New("txscope: too many requests of this tenant or user in flight")

	// ErrReasonRequired: an admin call without a usable reason. Returned
	// before anything touches the database.
	ErrReasonRequired = errors.New("txscope: an audit reason is required (1-500 characters, no control characters)")
	// ErrNoAdmin: the scope was opened without ADMIN_DATABASE_URL.
	ErrNoAdmin = errors.New("txscope: no admin database configured (ADMIN_DATABASE_URL)")
	// ErrNoRuntime: the scope was opened without DATABASE_URL.
	ErrNoRuntime = errors.New("txscope: no runtime database configured (DATABASE_URL)")

	// ErrContextKey: the database refused the context proof (unknown,
	// retired or expired key), or the key could not be read through the
	// admin pool. The scope re-reads the keys on its next use.
	ErrContextKey = errors.New("txscope: the database refused the context proof (context key unknown, retired or unreadable)")
	// ErrTaintedSession: app.enter found state on the pooled connection that
	// pgtenant never creates (a SQL-level prepared statement, a WITH HOLD
	// cursor, SET ROLE, a temporary object shadowing the schema): something
	// else ran SQL on it. The connection is destroyed, not reused.
	ErrTaintedSession = errors.New("txscope: the pooled connection carried state planted outside pgtenant; it was destroyed")
)

// SQLSTATEs app.enter raises (db/schema/0004_guard.up.sql).
const (
	sqlstateBadProof = "PT001" // the proof does not verify (forged, expired, unknown key)
	sqlstateTainted  = "PT002" // the session carries planted state
)

// known lists the errors mapError passes through unchanged.
var known = []error{
	ErrUnknownUser, ErrTenantNotFound, ErrForbidden, ErrNotFound, ErrConflict, ErrInvalid, ErrUnavailable,
	ErrRateLimited, ErrBusy, ErrReasonRequired, ErrNoAdmin, ErrNoRuntime, ErrContextKey, ErrTaintedSession,
}

// mapError is the one place that turns driver errors into domain errors.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	for _, k := range known {
		if errors.Is(err, k) {
			return err
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case code == pgerrcode.UniqueViolation:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case code == pgerrcode.ForeignKeyViolation:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case code == pgerrcode.CheckViolation, code == pgerrcode.NotNullViolation, pgerrcode.IsDataException(code):
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		case code == pgerrcode.InsufficientPrivilege, code == pgerrcode.ReadOnlySQLTransaction: // RLS/privilege, read-only transaction
			return fmt.Errorf("%w: %w", ErrForbidden, err)
		case code == pgerrcode.QueryCanceled:
			return &limits.Refusal{Reason: limits.StatementTimeout, RetryAfter: retryBusy, Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
		case code == pgerrcode.LockNotAvailable:
			return &limits.Refusal{Reason: limits.LockTimeout, RetryAfter: retryBusy, Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
		case pgerrcode.IsConnectionException(code), code == pgerrcode.TooManyConnections, code == pgerrcode.AdminShutdown,
			code == pgerrcode.CrashShutdown, code == pgerrcode.CannotConnectNow:
			return &limits.Refusal{Reason: limits.ConnectionLost, RetryAfter: retryBusy, Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
		case code == sqlstateBadProof:
			return fmt.Errorf("%w: %w", ErrContextKey, err)
		case code == sqlstateTainted:
			return fmt.Errorf("%w: %w", ErrTaintedSession, err)
		}
		return err
	}
	// The request's own end: a deadline, or a client that went away (a
	// cancelled request is nobody's internal error).
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}
