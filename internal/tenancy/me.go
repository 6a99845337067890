package tenancy

import (
	"context"

	"github.com/google/uuid"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// User is a user row.
type User struct {
	ID          uuid.UUID `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
}

func toUser(u dbgen.User) User { return User{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName} }

// Membership is one tenant the caller belongs to.
type Membership struct {
	TenantID     uuid.UUID `json:"tenant_id"`
	TenantSlug   string    `json:"tenant_slug"`
	TenantName   string    `json:"tenant_name"`
	TenantStatus string    `json:"tenant_status"`
	Role         string    `json:"role"`
}

// Me is the caller as the database knows it.
type Me struct {
	User        User         `json:"user"`
	IsOwner     bool         `json:"is_owner"`
	Memberships []Membership `json:"memberships"`
}

// Me reads the caller's user row, Owner flag and memberships (suspended
// tenants included, with their status). c.Tenant is ignored.
func (s *Service) Me(ctx context.Context, c Caller) (Me, error) {
	var (
		u  dbgen.User
		ms []dbgen.MembershipListMineRow
	)
	err := s.read(ctx, Caller{Email: c.Email}, func(tx *txscope.Tx) error {
		var err error
		if u, err = tx.Q.UserCurrent(ctx); err != nil {
			return err
		}
		ms, err = tx.Q.MembershipListMine(ctx)
		return err
	})
	if err != nil {
		return Me{}, err
	}
	me := Me{User: toUser(u), IsOwner: u.IsOwner, Memberships: make([]Membership, 0, len(ms))}
	for _, m := range ms {
		me.Memberships = append(me.Memberships, Membership{
			TenantID: m.TenantID, TenantSlug: m.TenantSlug, TenantName: m.TenantName, TenantStatus: m.TenantStatus, Role: m.Role,
		})
	}
	return me, nil
}
