package tenancy

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/pgtenant/pgtenant/internal/reqctx"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// ScopeKind names the kind of scope an operation ran.
type ScopeKind string

// The scopes.
const (
	ScopeRead  ScopeKind = "read"
	ScopeWrite ScopeKind = "write"
	ScopeAdmin ScopeKind = "admin"
)

// Outcome is how a scope ended, in a small fixed vocabulary (a metric
// label): entered, or why the database refused the context.
type Outcome string

// The outcomes.
const (
	// OutcomeEntered: the database granted the context (read and write
	// scopes), or the admin work committed with its audit row. Whatever
	// the operation's statements did next (not found, conflict) counts as
	// entered.
	OutcomeEntered        Outcome = "entered"
	OutcomeUnknownUser    Outcome = "unknown_user"
	OutcomeTenantNotFound Outcome = "tenant_not_found"
	OutcomeForbidden      Outcome = "forbidden"
	OutcomeUnavailable    Outcome = "unavailable"
	// OutcomeLimited: a rate limit or a pool share turned the scope away
	// before it reached the database.
	OutcomeLimited Outcome = "limited"
	// OutcomeFailed: anything else (an admin action rolled back, say).
	OutcomeFailed Outcome = "failed"
)

// ScopeEvent is one scope an operation ran.
type ScopeEvent struct {
	Kind    ScopeKind
	Outcome Outcome
	// UserID and TenantID are what app.enter resolved (uuid.Nil when it
	// resolved nothing, or outside a tenant).
	UserID, TenantID uuid.UUID
	// Action is the audited action of an admin scope.
	Action string
	// Audited: the admin scope wrote its audit row (committed with the
	// work).
	Audited bool
}

// Observer sees every scope a Service runs, after it ends: metrics and
// traces hook in here. Implementations must be cheap and safe for
// concurrent use.
type Observer interface {
	Scope(ctx context.Context, e ScopeEvent)
}

// observe reports a scope: the ids to the request's reqctx.Info (the
// request log line), the event to the Observer.
func (s *Service) observe(ctx context.Context, e ScopeEvent, err error) {
	if e.Outcome == "" {
		e.Outcome = outcomeOf(err)
	}
	reqctx.From(ctx).Set(e.UserID, e.TenantID)
	if s.observer != nil {
		s.observer.Scope(ctx, e)
	}
}

func outcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeEntered
	case errors.Is(err, txscope.ErrUnknownUser):
		return OutcomeUnknownUser
	case errors.Is(err, txscope.ErrTenantNotFound):
		return OutcomeTenantNotFound
	case errors.Is(err, txscope.ErrForbidden):
		return OutcomeForbidden
	case errors.Is(err, txscope.ErrRateLimited), errors.Is(err, txscope.ErrBusy):
		return OutcomeLimited
	case errors.Is(err, txscope.ErrUnavailable), errors.Is(err, txscope.ErrNoRuntime), errors.Is(err, txscope.ErrNoAdmin),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return OutcomeUnavailable
	}
	return OutcomeFailed
}

// entered is what a tenant scope granted, captured inside it.
type entered struct {
	ok   bool
	sess txscope.Session
}

// capture wraps fn to record the session the scope entered with. A read
// scope's session is the one its last statement entered with (free: the
// statements already carried it); a refused context reports its error
// instead and fn's statements never ran.
func (e *entered) capture(ctx context.Context, fn func(*txscope.Tx) error) func(*txscope.Tx) error {
	return func(tx *txscope.Tx) error {
		err := fn(tx)
		if sess, serr := tx.Session(ctx); serr == nil {
			e.ok, e.sess = true, sess
		}
		return err
	}
}

func (e *entered) event(kind ScopeKind, err error) ScopeEvent {
	ev := ScopeEvent{Kind: kind, UserID: e.sess.UserID, TenantID: e.sess.TenantID}
	if e.ok {
		ev.Outcome = OutcomeEntered
	} else {
		ev.Outcome = outcomeOf(err)
	}
	return ev
}
