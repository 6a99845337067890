package tenancy

import (
	"context"
	"errors"
	"time"

	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// MaxProofTTL bounds ContextProof's lifetime: a proof is for a person at a
// psql prompt, not a credential to keep.
const MaxProofTTL = txscope.MaxProofTTL

// ContextProof signs, for an operator, the proof that lets
// app.enter(email, tenant, readOnly, proof) establish that context until
// ttl from now (what `TENANT=acme make psql` passes). It is an audited admin
// action ("context.proof"): impersonating a user through psql leaves a
// trace naming the user, the tenant and the expiry.
func (s *Service) ContextProof(ctx context.Context, op Operator, email, tenant string, readOnly bool, ttl time.Duration) (string, error) {
	var fs fields
	email = rules.NormalizeEmail(email)
	if !rules.ValidEmail(email) {
		fs.add("email", "must be an email address")
	}
	if tenant != "" && !rules.ValidTenantKey(tenant) {
		fs.add("tenant", "must be a tenant slug or id")
	}
	if ttl <= 0 || ttl > MaxProofTTL {
		fs.add("ttl", "must be between 0 and "+MaxProofTTL.String())
	}
	if err := fs.err(); err != nil {
		return "", err
	}
	if op.reason == "" {
		return "", errors.New("tenancy: an Operator from Service.Owner or CLIOperator is required")
	}
	proof, err := s.scope.ContextProof(ctx, op.actor, op.reason, txscope.Who{Email: email, Tenant: tenant}, readOnly, ttl)
	s.observe(ctx, ScopeEvent{Kind: ScopeAdmin, UserID: op.actor.UserID, Action: "context.proof", Audited: err == nil}, err)
	return proof, fail(err)
}

// RotateContextKey adds a context key and retires the others after grace
// (an audited admin action, "context-key.rotate"); servers pick the new key
// up within their key refresh interval. It returns the new key's id.
func (s *Service) RotateContextKey(ctx context.Context, op Operator, grace time.Duration) (int32, error) {
	if grace < 0 || grace > 7*24*time.Hour {
		var fs fields
		fs.add("grace", "must be a duration from 0 to 168h")
		return 0, fs.err()
	}
	if op.reason == "" {
		return 0, errors.New("tenancy: an Operator from Service.Owner or CLIOperator is required")
	}
	id, err := s.scope.RotateContextKey(ctx, op.actor, op.reason, grace)
	s.observe(ctx, ScopeEvent{Kind: ScopeAdmin, UserID: op.actor.UserID, Action: "context-key.rotate", Audited: err == nil}, err)
	return id, fail(err)
}
