package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

type memberBody struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

type roleBody struct {
	Role string `json:"role"`
}

// POST /members {"email","role"}: a new address becomes a user row (an
// invitation); 409 when already a member.
func (h *handlers) addMember(c echo.Context) error {
	var b memberBody
	if err := httpx.DecodeJSON(c, &b); err != nil {
		return err
	}
	m, err := h.svc.AddMember(c.Request().Context(), caller(c), tenancy.MemberInput(b))
	return created(c, m.UserID.String(), m, err)
}

// GET /members/:user
func (h *handlers) getMember(c echo.Context) error {
	user, err := httpx.PathUUID(c, "user")
	if err != nil {
		return err
	}
	m, err := h.svc.GetMember(c.Request().Context(), caller(c), user)
	return reply(c, http.StatusOK, m, err)
}

// PATCH /members/:user {"role"}: answers with the member as the list
// shows it.
func (h *handlers) setMemberRole(c echo.Context) error {
	user, err := httpx.PathUUID(c, "user")
	if err != nil {
		return err
	}
	var b roleBody
	if err := httpx.DecodeJSON(c, &b); err != nil {
		return err
	}
	m, err := h.svc.SetMemberRole(c.Request().Context(), caller(c), user, b.Role, ifMatch(c))
	return reply(c, http.StatusOK, m, err)
}

// DELETE /members/:user: effective on the member's next request.
func (h *handlers) removeMember(c echo.Context) error {
	user, err := httpx.PathUUID(c, "user")
	if err != nil {
		return err
	}
	return noContent(c, h.svc.RemoveMember(c.Request().Context(), caller(c), user, ifMatch(c)))
}

// Me is GET /v1/me: the verified identity as the database knows it, and
// how it was verified.
type Me struct {
	tenancy.Me
	AuthMethod string `json:"auth_method"`
	Service    string `json:"service,omitempty"`
}

func (h *handlers) me(c echo.Context) error {
	id, _ := httpx.IdentityOf(c)
	me, err := h.svc.Me(c.Request().Context(), httpx.Caller(c, ""))
	return reply(c, http.StatusOK, Me{Me: me, AuthMethod: string(id.Method), Service: id.Service}, err)
}
