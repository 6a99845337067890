package tenancy

import (
	"context"
	"errors"

	"github.com/pgtenant/pgtenant/internal/txscope"
)

// MaxReasonLen bounds an audit reason, in characters.
const MaxReasonLen = txscope.MaxReasonLen

// CleanReason trims an audit reason and checks it is usable: 1 to
// MaxReasonLen characters, no control characters. Otherwise
// CodeReasonRequired.
func CleanReason(reason string) (string, error) {
	r, err := txscope.CleanReason(reason)
	if err != nil {
		return "", reasonRequired(err)
	}
	return r, nil
}

// Operator is who performs audited cross-tenant work, with the reason it
// gave: an Owner the database vouched for (Service.Owner) or the command
// line (CLIOperator). Only this package makes one, so no transport reaches
// the admin scope without one of those checks.
type Operator struct {
	actor  txscope.Actor
	reason string
}

// Owner returns the Operator for c when c gives a usable reason and the
// database says c is a platform Owner. The reason is checked first, so a
// call without one runs no query (CodeReasonRequired); a caller who is not
// an Owner gets CodeOwnerOnly, and the refusal is logged. The Owner flag
// comes from the caller's own user row, read as the runtime role; never
// from a token claim.
func (s *Service) Owner(ctx context.Context, c Caller, reason string) (Operator, error) {
	reason, err := CleanReason(reason)
	if err != nil {
		return Operator{}, err
	}
	sess, err := s.ownerSession(ctx, c)
	if err != nil {
		return Operator{}, err
	}
	return Operator{
		actor: txscope.Actor{
			UserID: sess.UserID, Email: c.Email, Role: string(txscope.RoleOwner),
			RequestID: c.RequestID, ClientAddr: c.ClientAddr,
		},
		reason: reason,
	}, nil
}

// CheckOwner refuses anyone but a platform Owner (CodeOwnerOnly, logged),
// for steps that open no admin scope (the dashboard's reason form).
func (s *Service) CheckOwner(ctx context.Context, c Caller) error {
	_, err := s.ownerSession(ctx, c)
	return err
}

func (s *Service) ownerSession(ctx context.Context, c Caller) (txscope.Session, error) {
	var sess txscope.Session
	err := s.read(ctx, Caller{Email: c.Email}, func(tx *txscope.Tx) error {
		var err error
		sess, err = tx.Session(ctx)
		return err
	})
	if err != nil {
		return sess, err
	}
	if !sess.IsOwner {
		s.log.Warn("admin access refused: not an owner", "request_id", c.RequestID, "user_id", sess.UserID.String())
		return sess, &Error{Code: CodeOwnerOnly, Message: "only platform owners may do this"}
	}
	return sess, nil
}

// CLIOperator is the Operator of the server's subcommands. There is no
// verified identity on a command line: whoever holds ADMIN_DATABASE_URL
// is trusted, and name (the OS user and host) is what the audit row
// records.
func CLIOperator(name, reason string) (Operator, error) {
	reason, err := CleanReason(reason)
	if err != nil {
		return Operator{}, err
	}
	if name == "" {
		return Operator{}, errors.New("tenancy: CLIOperator needs a name")
	}
	return Operator{actor: txscope.Actor{Email: name, Role: "cli"}, reason: reason}, nil
}

// admin runs fn in the audited admin scope as op; the audit row records
// action and op's reason, and commits with fn's work or not at all.
func (s *Service) admin(ctx context.Context, op Operator, action string, fn func(*txscope.AdminTx) error) (txscope.AuditEntry, error) {
	if op.reason == "" {
		return txscope.AuditEntry{}, errors.New("tenancy: an Operator from Service.Owner or CLIOperator is required")
	}
	entry, err := s.scope.Admin(ctx, op.actor, action, op.reason, fn)
	if !errors.Is(err, errUnchanged) { // a seed that wrote nothing is no admin action
		s.observe(ctx, ScopeEvent{Kind: ScopeAdmin, UserID: op.actor.UserID, Action: action, Audited: entry.ID != 0}, err)
	}
	return entry, fail(err)
}
