package web

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Member is one member of a tenant.
type Member struct {
	UserID      uuid.UUID `json:"user_id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	JoinedAt    time.Time `json:"joined_at"`
}

func validMemberRole(r string) bool {
	return r == string(txscope.RolePartner) || r == string(txscope.RoleClientViewer)
}

var memberRoleError = &FieldError{Field: "role", Message: "must be partner or client_viewer"}

// GET /members: every role may list the tenant's members.
func (s *Server) listMembers(c echo.Context) error {
	limit, after, err := pageParams(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var rows []dbgen.MemberListFirstRow
	err = s.scope.Read(ctx, who(c), func(tx *txscope.Tx) error {
		if after == nil {
			rows, err = tx.Q.MemberListFirst(ctx, int32(limit+1))
			return err
		}
		more, err := tx.Q.MemberListAfter(ctx, dbgen.MemberListAfterParams{AfterCreatedAt: after.CreatedAt, AfterUserID: after.ID, Lim: int32(limit + 1)})
		for _, m := range more {
			rows = append(rows, dbgen.MemberListFirstRow(m))
		}
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPage(rows, limit,
		func(m dbgen.MemberListFirstRow) Member {
			return Member{UserID: m.UserID, Email: m.Email, DisplayName: m.DisplayName, Role: m.Role, JoinedAt: m.CreatedAt}
		},
		func(m dbgen.MemberListFirstRow) cursor { return cursor{CreatedAt: m.CreatedAt, ID: m.UserID} }))
}

type addMemberRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

// POST /members: Owners and Partners add a person by email. A new address
// becomes a user row (an invitation); 409 when already a member.
func (s *Server) addMember(c echo.Context) error {
	var req addMemberRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	email := rules.NormalizeEmail(req.Email)
	var fes []*FieldError
	if !rules.ValidEmail(email) {
		fes = append(fes, &FieldError{Field: "email", Message: "must be an email address"})
	}
	if !validMemberRole(req.Role) {
		fes = append(fes, memberRoleError)
	}
	if err := validation(fes...); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var m dbgen.Membership
	err := s.scope.Write(ctx, who(c), func(tx *txscope.Tx) error {
		var err error
		m, err = tx.Q.MemberAdd(ctx, dbgen.MemberAddParams{Email: email, Role: req.Role})
		return err
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, c.Request().URL.Path+"/"+m.UserID.String())
	return c.JSON(http.StatusCreated, Member{UserID: m.UserID, Email: email, Role: m.Role, JoinedAt: m.CreatedAt})
}

type setRoleRequest struct {
	Role string `json:"role"`
}

// PATCH /members/:user: change a member's role.
func (s *Server) setMemberRole(c echo.Context) error {
	userID, err := pathUUID(c, "user")
	if err != nil {
		return err
	}
	var req setRoleRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if !validMemberRole(req.Role) {
		return validation(memberRoleError)
	}
	ctx := c.Request().Context()
	var row dbgen.MemberSetRoleRow
	err = s.scope.Write(ctx, who(c), func(tx *txscope.Tx) error {
		row, err = tx.Q.MemberSetRole(ctx, dbgen.MemberSetRoleParams{Role: req.Role, UserID: userID})
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"user_id": row.UserID, "role": row.Role, "joined_at": row.CreatedAt})
}

// DELETE /members/:user: remove a member; effective on their next request.
func (s *Server) removeMember(c echo.Context) error {
	userID, err := pathUUID(c, "user")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	err = s.scope.Write(ctx, who(c), func(tx *txscope.Tx) error {
		n, err := tx.Q.MemberRemove(ctx, userID)
		if err == nil && n == 0 {
			return txscope.ErrNotFound
		}
		return err
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
