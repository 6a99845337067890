package tenancy

import (
	"context"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Owners are global: they act in every tenant (under row-level security,
// like a member) and reach the cross-tenant admin operations.

func ownerEmail(email string) (string, error) {
	email = rules.NormalizeEmail(email)
	if !rules.ValidEmail(email) {
		return "", fields{{Field: "email", Message: "must be an email address"}}.err()
	}
	return email, nil
}

// AddOwner makes email a platform Owner, creating the user row when the
// address is new ("owner.add"). Adding an Owner again changes nothing.
func (s *Service) AddOwner(ctx context.Context, op Operator, email string) (User, error) {
	email, err := ownerEmail(email)
	if err != nil {
		return User{}, err
	}
	var u dbgen.User
	_, err = s.admin(ctx, op, "owner.add", func(tx *txscope.AdminTx) error {
		var err error
		u, err = tx.Q.AdminOwnerGrant(ctx, email)
		tx.Detail("email", email)
		return err
	})
	return toUser(u), err
}

// RemoveOwner takes the Owner flag from email ("owner.remove"); an address
// that is not an Owner is CodeNotFound, and leaves no audit row.
func (s *Service) RemoveOwner(ctx context.Context, op Operator, email string) error {
	email, err := ownerEmail(email)
	if err != nil {
		return err
	}
	_, err = s.admin(ctx, op, "owner.remove", func(tx *txscope.AdminTx) error {
		n, err := tx.Q.AdminOwnerRevoke(ctx, email)
		if err == nil && n == 0 {
			return &Error{Code: CodeNotFound, Message: email + " is not an owner"}
		}
		tx.Detail("email", email)
		return err
	})
	return err
}

// ListOwners lists the platform Owners by email ("owner.list").
func (s *Service) ListOwners(ctx context.Context, op Operator) ([]User, error) {
	var rows []dbgen.User
	_, err := s.admin(ctx, op, "owner.list", func(tx *txscope.AdminTx) error {
		var err error
		rows, err = tx.Q.AdminOwnerList(ctx)
		return err
	})
	out := make([]User, 0, len(rows))
	for _, u := range rows {
		out = append(out, toUser(u))
	}
	return out, err
}
