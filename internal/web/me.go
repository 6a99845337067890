package web

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Me is GET /v1/me: the verified identity, as the database knows it.
type Me struct {
	User        MeUser       `json:"user"`
	IsOwner     bool         `json:"is_owner"`
	AuthMethod  string       `json:"auth_method"`
	Service     string       `json:"service,omitempty"`
	Memberships []Membership `json:"memberships"`
}

// MeUser is the caller's user row.
type MeUser struct {
	ID          uuid.UUID `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
}

// Membership is one tenant the caller belongs to.
type Membership struct {
	TenantID     uuid.UUID `json:"tenant_id"`
	TenantSlug   string    `json:"tenant_slug"`
	TenantName   string    `json:"tenant_name"`
	TenantStatus string    `json:"tenant_status"`
	Role         string    `json:"role"`
}

func (s *Server) me(c echo.Context) error {
	id, _ := identityOf(c)
	ctx := c.Request().Context()
	var (
		u  dbgen.User
		ms []dbgen.MembershipListMineRow
	)
	err := s.scope.Read(ctx, txscope.Who{Email: id.Email}, func(tx *txscope.Tx) error {
		var err error
		if u, err = tx.Q.UserCurrent(ctx); err != nil {
			return err
		}
		ms, err = tx.Q.MembershipListMine(ctx)
		return err
	})
	if err != nil {
		return err
	}
	out := Me{
		User:        MeUser{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName},
		IsOwner:     u.IsOwner,
		AuthMethod:  string(id.Method),
		Service:     id.Service,
		Memberships: make([]Membership, 0, len(ms)),
	}
	for _, m := range ms {
		out.Memberships = append(out.Memberships, Membership{
			TenantID: m.TenantID, TenantSlug: m.TenantSlug, TenantName: m.TenantName, TenantStatus: m.TenantStatus, Role: m.Role,
		})
	}
	return c.JSON(http.StatusOK, out)
}
