package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// HeaderAuditReason carries the reason every admin API call must give.
const HeaderAuditReason = "X-Audit-Reason"

// Admin API error codes.
const (
	CodeReasonRequired = "reason_required"
	CodeOwnerOnly      = "owner_only"
)

// adminActor establishes who may use the audited admin scope for this
// request: the reason comes first (a request without one is refused before
// any query), then the caller must be an Owner (ownerActor).
func (s *Server) adminActor(c echo.Context, reason string) (txscope.Actor, string, error) {
	reason, err := txscope.CleanReason(reason)
	if err != nil {
		return txscope.Actor{}, "", &Error{Status: http.StatusBadRequest, Code: CodeReasonRequired,
			Detail: "admin calls need a reason: send " + HeaderAuditReason + " (1-500 characters)"}
	}
	actor, err := s.ownerActor(c)
	return actor, reason, err
}

// ownerActor returns the audit actor for the caller if the database says
// the caller is an Owner (never a token claim); otherwise 403, and the
// refusal is logged with the caller's identity. It reads only the caller's
// own user row, through the runtime role.
func (s *Server) ownerActor(c echo.Context) (txscope.Actor, error) {
	id, _ := identityOf(c)
	ctx := c.Request().Context()
	var sess txscope.Session
	err := s.scope.Read(ctx, txscope.Who{Email: id.Email}, func(tx *txscope.Tx) error {
		var err error
		sess, err = tx.Session(ctx)
		return err
	})
	if err != nil {
		return txscope.Actor{}, err
	}
	if !sess.IsOwner {
		s.log.Warn("admin access refused: not an owner", "request_id", requestID(c), "user", id.Email,
			"method", c.Request().Method, "path", c.Request().URL.Path)
		return txscope.Actor{}, &Error{Status: http.StatusForbidden, Code: CodeOwnerOnly, Detail: "only platform owners may do this"}
	}
	return txscope.Actor{
		UserID: sess.UserID, Email: id.Email, Role: string(txscope.RoleOwner),
		RequestID: requestID(c), ClientAddr: c.RealIP(),
	}, nil
}

// AdminTenant is a tenant as the Owner's admin API shows it.
type AdminTenant struct {
	ID        uuid.UUID `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	Members   int64     `json:"members"`
	Projects  int64     `json:"projects"`
	Tasks     int64     `json:"tasks"`
}

func toAdminTenant(t dbgen.AdminTenantListRow) AdminTenant {
	return AdminTenant(t)
}

// listTenants reads one page of every tenant, with sizes, as the admin role.
func (s *Server) listTenantsPage(c echo.Context, actor txscope.Actor, reason, afterSlug string, limit int) ([]dbgen.AdminTenantListRow, error) {
	ctx := c.Request().Context()
	var rows []dbgen.AdminTenantListRow
	_, err := s.scope.Admin(ctx, actor, "tenant.list", reason, func(tx *txscope.AdminTx) error {
		var err error
		rows, err = tx.Q.AdminTenantList(ctx, dbgen.AdminTenantListParams{AfterSlug: afterSlug, Lim: int32(limit)})
		for _, r := range rows {
			tx.Target(r.ID)
		}
		return err
	})
	return rows, err
}

// GET /v1/admin/tenants?limit=&cursor=
func (s *Server) adminListTenants(c echo.Context) error {
	actor, reason, err := s.adminActor(c, c.Request().Header.Get(HeaderAuditReason))
	if err != nil {
		return err
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	after := ""
	if cur := c.QueryParam("cursor"); cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || len(b) == 0 || len(b) > 63 {
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalidCursor, Detail: "cursor is not one this API issued"}
		}
		after = string(b)
	}
	rows, err := s.listTenantsPage(c, actor, reason, after, limit+1)
	if err != nil {
		return err
	}
	page := Page[AdminTenant]{Items: []AdminTenant{}}
	for i, r := range rows {
		if i == limit {
			next := base64.RawURLEncoding.EncodeToString([]byte(rows[limit-1].Slug))
			page.NextCursor = &next
			break
		}
		page.Items = append(page.Items, toAdminTenant(r))
	}
	return c.JSON(http.StatusOK, page)
}

type createTenantRequest struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// POST /v1/admin/tenants
func (s *Server) adminCreateTenant(c echo.Context) error {
	actor, reason, err := s.adminActor(c, c.Request().Header.Get(HeaderAuditReason))
	if err != nil {
		return err
	}
	var req createTenantRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var fes []*FieldError
	if !rules.ValidSlug(req.Slug) {
		fes = append(fes, &FieldError{Field: "slug", Message: "must be 1-63 lowercase letters, digits and inner dashes"})
	}
	fes = append(fes, checkText("name", req.Name, 1, maxNameLen, false))
	if err := validation(fes...); err != nil {
		return err
	}
	t, err := s.createTenant(c, actor, reason, req.Slug, trim(req.Name))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/admin/tenants/"+t.ID.String())
	return c.JSON(http.StatusCreated, AdminTenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Status: t.Status, CreatedAt: t.CreatedAt})
}

func (s *Server) createTenant(c echo.Context, actor txscope.Actor, reason, slug, name string) (dbgen.Tenant, error) {
	ctx := c.Request().Context()
	var t dbgen.Tenant
	_, err := s.scope.Admin(ctx, actor, "tenant.create", reason, func(tx *txscope.AdminTx) error {
		var err error
		t, err = tx.Q.AdminTenantCreate(ctx, dbgen.AdminTenantCreateParams{Slug: slug, Name: name})
		tx.Target(t.ID)
		tx.Detail("slug", slug)
		return err
	})
	if errors.Is(err, txscope.ErrConflict) {
		return t, &Error{Status: http.StatusConflict, Code: CodeConflict, Detail: "a tenant with that slug exists", Internal: err}
	}
	return t, err
}

// setTenantStatus suspends or resumes a tenant. A suspended tenant serves
// nothing to anyone through the runtime role: app.enter, which txscope runs
// before every read statement and at the start of every write transaction,
// grants no context in it.
func (s *Server) setTenantStatus(c echo.Context, actor txscope.Actor, reason string, id uuid.UUID, status string) (dbgen.Tenant, error) {
	ctx := c.Request().Context()
	var t dbgen.Tenant
	action := "tenant.suspend"
	if status == "active" {
		action = "tenant.resume"
	}
	_, err := s.scope.Admin(ctx, actor, action, reason, func(tx *txscope.AdminTx) error {
		var err error
		t, err = tx.Q.AdminTenantSetStatus(ctx, dbgen.AdminTenantSetStatusParams{ID: id, Status: status})
		tx.Target(id)
		return err
	})
	return t, err
}

// POST /v1/admin/tenants/:id/suspend and /resume
func (s *Server) adminTenantStatus(status string) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, reason, err := s.adminActor(c, c.Request().Header.Get(HeaderAuditReason))
		if err != nil {
			return err
		}
		id, err := pathUUID(c, "id")
		if err != nil {
			return err
		}
		t, err := s.setTenantStatus(c, actor, reason, id, status)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, AdminTenant{ID: t.ID, Slug: t.Slug, Name: t.Name, Status: t.Status, CreatedAt: t.CreatedAt})
	}
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"at"`
	ActorUserID *uuid.UUID      `json:"actor_user_id"`
	ActorEmail  string          `json:"actor_email"`
	ActorRole   string          `json:"actor_role"`
	Reason      string          `json:"reason"`
	Action      string          `json:"action"`
	TenantIDs   []uuid.UUID     `json:"tenant_ids"`
	RequestID   string          `json:"request_id"`
	ClientAddr  string          `json:"client_addr"`
	Detail      json.RawMessage `json:"detail"`
}

func toAuditEntry(a dbgen.AuditLog) AuditEntry {
	return AuditEntry{ID: a.ID, At: a.At, ActorUserID: a.ActorUserID, ActorEmail: a.ActorEmail, ActorRole: a.ActorRole,
		Reason: a.Reason, Action: a.Action, TenantIDs: a.TenantIds, RequestID: a.RequestID, ClientAddr: a.ClientAddr, Detail: a.Detail}
}

// readAudit reads the audit log (itself an audited action).
func (s *Server) readAudit(c echo.Context, actor txscope.Actor, reason string, p dbgen.AdminAuditListParams) ([]dbgen.AuditLog, error) {
	ctx := c.Request().Context()
	var rows []dbgen.AuditLog
	_, err := s.scope.Admin(ctx, actor, "audit.read", reason, func(tx *txscope.AdminTx) error {
		var err error
		rows, err = tx.Q.AdminAuditList(ctx, p)
		if p.TenantID != nil {
			tx.Target(*p.TenantID)
		}
		return err
	})
	return rows, err
}

// GET /v1/admin/audit?tenant=&actor=&since=&until=&limit=&cursor=
// Newest first; since/until are RFC 3339 times; cursor pages backwards.
func (s *Server) adminAudit(c echo.Context) error {
	actor, reason, err := s.adminActor(c, c.Request().Header.Get(HeaderAuditReason))
	if err != nil {
		return err
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	p := dbgen.AdminAuditListParams{Lim: int32(limit + 1)}
	var fes []*FieldError
	if v := c.QueryParam("tenant"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			fes = append(fes, &FieldError{Field: "tenant", Message: "must be a tenant id (UUID)"})
		}
		p.TenantID = &id
	}
	if v := c.QueryParam("actor"); v != "" {
		a := rules.NormalizeEmail(v)
		p.Actor = &a
	}
	for name, dst := range map[string]**time.Time{"since": &p.Since, "until": &p.Until} {
		if v := c.QueryParam(name); v != "" {
			ts, err := time.Parse(time.RFC3339, v)
			if err != nil {
				fes = append(fes, &FieldError{Field: name, Message: "must be an RFC 3339 time"})
			}
			*dst = &ts
		}
	}
	if v := c.QueryParam("cursor"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			fes = append(fes, &FieldError{Field: "cursor", Message: "malformed"})
		}
		p.BeforeID = &id
	}
	if len(fes) > 0 {
		e := validation(fes...).(*Error)
		e.Status, e.Code = http.StatusBadRequest, CodeBadRequest
		return e
	}
	rows, err := s.readAudit(c, actor, reason, p)
	if err != nil {
		return err
	}
	page := Page[AuditEntry]{Items: []AuditEntry{}}
	for i, r := range rows {
		if i == limit {
			next := strconv.FormatInt(rows[limit-1].ID, 10)
			page.NextCursor = &next
			break
		}
		page.Items = append(page.Items, toAuditEntry(r))
	}
	return c.JSON(http.StatusOK, page)
}

// limitParam reads ?limit= (default 20, at most 100).
func limitParam(c echo.Context) (int, error) {
	limit := defaultLimit
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > maxLimit {
			return 0, &Error{Status: http.StatusBadRequest, Code: CodeInvalidLimit,
				Detail: "limit must be an integer from 1 to " + strconv.Itoa(maxLimit),
				Fields: []FieldError{{Field: "limit", Message: "must be 1-" + strconv.Itoa(maxLimit)}}}
		}
		limit = n
	}
	return limit, nil
}
