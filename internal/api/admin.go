package api

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// HeaderAuditReason carries the reason every admin API call must give.
const HeaderAuditReason = "X-Audit-Reason"

// adminRoutes registers the Owners' cross-tenant API. Every call is an
// audited admin action with the reason from X-Audit-Reason.
func (h *handlers) adminRoutes(e *echo.Echo, authn echo.MiddlewareFunc) {
	e.GET("/v1/admin/tenants", h.listTenants, authn)
	e.POST("/v1/admin/tenants", h.createTenant, authn)
	e.GET("/v1/admin/tenants/:id", h.tenantByID(h.svc.GetTenant), authn)
	e.POST("/v1/admin/tenants/:id/suspend", h.tenantByID(h.svc.SuspendTenant), authn)
	e.POST("/v1/admin/tenants/:id/resume", h.tenantByID(h.svc.ResumeTenant), authn)
	e.GET("/v1/admin/audit", h.listAudit, authn)
}

// operator checks the reason (before any query) and that the caller is an
// Owner.
func (h *handlers) operator(c echo.Context) (tenancy.Operator, error) {
	op, err := h.svc.Owner(c.Request().Context(), httpx.Caller(c, ""), c.Request().Header.Get(HeaderAuditReason))
	if tenancy.ErrorCode(err) == tenancy.CodeReasonRequired {
		return op, &tenancy.Error{Code: tenancy.CodeReasonRequired, Err: err,
			Message: "admin calls need a reason: send " + HeaderAuditReason + " (1-500 characters)"}
	}
	return op, err
}

// operatorPage is operator, then the page the request asks for.
func (h *handlers) operatorPage(c echo.Context) (tenancy.Operator, tenancy.PageRequest, error) {
	op, err := h.operator(c)
	if err != nil {
		return op, tenancy.PageRequest{}, err
	}
	r, err := httpx.PageRequest(c)
	return op, r, err
}

// GET /v1/admin/tenants?limit=&cursor=
func (h *handlers) listTenants(c echo.Context) error {
	op, r, err := h.operatorPage(c)
	if err != nil {
		return err
	}
	p, err := h.svc.ListTenants(c.Request().Context(), op, r)
	return reply(c, http.StatusOK, p, err)
}

type tenantBody struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// POST /v1/admin/tenants {"slug","name"}
func (h *handlers) createTenant(c echo.Context) error {
	op, err := h.operator(c)
	if err != nil {
		return err
	}
	var b tenantBody
	if err := httpx.DecodeJSON(c, &b); err != nil {
		return err
	}
	t, err := h.svc.CreateTenant(c.Request().Context(), op, tenancy.TenantInput(b))
	return created(c, t.ID.String(), t, err)
}

// GET /v1/admin/tenants/:id, POST /v1/admin/tenants/:id/suspend and
// /resume: one tenant, with its counts.
func (h *handlers) tenantByID(op func(context.Context, tenancy.Operator, uuid.UUID) (tenancy.Tenant, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		operator, err := h.operator(c)
		if err != nil {
			return err
		}
		id, err := httpx.PathUUID(c, "id")
		if err != nil {
			return err
		}
		t, err := op(c.Request().Context(), operator, id)
		return reply(c, http.StatusOK, t, err)
	}
}

// GET /v1/admin/audit?tenant=&actor=&since=&until=&limit=&cursor=: newest
// first; since and until are RFC 3339 times; the cursor pages back.
func (h *handlers) listAudit(c echo.Context) error {
	op, r, err := h.operatorPage(c)
	if err != nil {
		return err
	}
	q := tenancy.AuditQuery{Tenant: c.QueryParam("tenant"), Actor: c.QueryParam("actor"), Since: c.QueryParam("since"), Until: c.QueryParam("until")}
	p, err := h.svc.ListAudit(c.Request().Context(), op, q, r)
	return reply(c, http.StatusOK, p, err)
}
