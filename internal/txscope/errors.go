package txscope

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Domain errors the scopes return in place of driver errors. The original
// error stays wrapped (errors.Is/As reach it) for server logs; the HTTP edge
// answers with the domain error alone, so no SQL text, constraint name or
// key value reaches a client.
var (
	// ErrNotFound: no row, or a referenced row that is not visible (a
	// foreign key to another tenant's row fails exactly like a missing one).
	ErrNotFound = errors.New("txscope: not found")
	// ErrConflict: a unique constraint (scoped to the tenant) refused the row.
	ErrConflict = errors.New("txscope: conflict")
	// ErrInvalid: a check constraint, NOT NULL or a malformed value refused it.
	ErrInvalid = errors.New("txscope: invalid value")
	// ErrUnavailable: the database could not be reached or timed out.
	ErrUnavailable = errors.New("txscope: database unavailable")
)

// mapError is the one place that turns driver errors into domain errors.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	for _, known := range []error{ErrUnknownUser, ErrTenantNotFound, ErrForbidden, ErrNotFound, ErrConflict, ErrInvalid, ErrUnavailable, ErrReasonRequired, ErrNoAdmin, ErrNoRuntime} {
		if errors.Is(err, known) {
			return err
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505": // unique_violation
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case pgErr.Code == "23503": // foreign_key_violation
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case pgErr.Code == "23514", pgErr.Code == "23502", strings.HasPrefix(pgErr.Code, "22"): // check, not null, data exceptions
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		case pgErr.Code == "42501", pgErr.Code == "25006": // RLS/privilege, read-only transaction
			return fmt.Errorf("%w: %w", ErrForbidden, err)
		case pgErr.Code == "57014", strings.HasPrefix(pgErr.Code, "08"), pgErr.Code == "53300", pgErr.Code == "57P01":
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}
