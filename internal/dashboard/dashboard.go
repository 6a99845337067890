// Package dashboard is the Owner dashboard: a small server-rendered HTML
// page at /admin over the same audited operations as the admin API
// (tenancy's ListTenants, ListAudit, SuspendTenant, ResumeTenant), for
// platform Owners only.
//
// The audit reason that the API takes from X-Audit-Reason comes from a
// session cookie here: the Owner types it once, and it is the reason of
// every view and action until the browser session ends or the Owner
// changes it. HTML errors, CSRF, security headers and cookies are in
// http.go. Like the API, the package reaches the database only through
// internal/tenancy.
package dashboard

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

//go:embed templates/*.html templates/admin.css
var files embed.FS

var (
	templates = template.Must(template.ParseFS(files, "templates/*.html"))
	css       = func() []byte {
		b, err := files.ReadFile("templates/admin.css")
		if err != nil {
			panic(err)
		}
		return b
	}()
)

// Dashboard sizes.
const (
	tenantsPerPage = 100
	auditRows      = 50
)

// Config configures the dashboard.
type Config struct {
	// Service performs the operations. Required.
	Service *tenancy.Service
	// Auth verifies identities (the same authenticator as the API). Required.
	Auth auth.Authenticator
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// dashboard holds the dashboard's handlers.
type dashboard struct {
	svc    *tenancy.Service
	log    *slog.Logger
	routes []route // for 405 vs 404
}

type route struct {
	pattern []string // path segments; ":x" matches any one segment
	allow   string   // the Allow header value
}

// Mount registers the dashboard under /admin on e (an httpx.New instance).
func Mount(e *echo.Echo, cfg Config) error {
	if cfg.Service == nil || cfg.Auth == nil {
		return errors.New("dashboard: Config.Service and Config.Auth are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	d := &dashboard{svc: cfg.Service, log: cfg.Logger}
	authn := httpx.AuthWithConfig(httpx.AuthConfig{Authenticator: cfg.Auth})
	// Outermost first: errors become HTML pages (and panics errors) for
	// everything inside, headers are set before anything can fail, then
	// authentication, then the CSRF check (after authentication, so a
	// stranger gets 401, not a CSRF error).
	mw := []echo.MiddlewareFunc{d.htmlErrors, httpx.Recover(cfg.Logger), securityHeaders, authn, csrf()}
	d.route(e, http.MethodGet, "/admin", d.index, mw)
	d.route(e, http.MethodPost, "/admin/reason", d.setReason, mw)
	d.route(e, http.MethodPost, "/admin/reason/clear", d.clearReason, mw)
	d.route(e, http.MethodPost, "/admin/tenants/:id/suspend", d.tenantStatus(d.svc.SuspendTenant), mw)
	d.route(e, http.MethodPost, "/admin/tenants/:id/resume", d.tenantStatus(d.svc.ResumeTenant), mw)
	// The stylesheet is public: it holds nothing, and the page must be
	// styled even on a 401.
	d.route(e, http.MethodGet, "/admin/static/admin.css", serveCSS, []echo.MiddlewareFunc{d.htmlErrors, securityHeaders})
	// Anything else under /admin is an HTML 404 or 405, not the API's JSON.
	e.RouteNotFound("/admin/*", d.notFound, d.htmlErrors, securityHeaders)
	return nil
}

// route registers one dashboard route. Echo's router answers a wrong
// method (405) and an unknown path (404) before any route middleware
// runs, so as the API's JSON; the RouteNotFound handlers here and on
// /admin/* answer them as HTML instead.
func (d *dashboard) route(e *echo.Echo, method, path string, h echo.HandlerFunc, mw []echo.MiddlewareFunc) {
	e.Add(method, path, h, mw...)
	e.RouteNotFound(path, d.notFound, d.htmlErrors, securityHeaders)
	d.routes = append(d.routes, route{pattern: strings.Split(path, "/"), allow: method})
}

// notFound answers 405 (with Allow) when the path is a dashboard route
// with another method, else 404.
func (d *dashboard) notFound(c echo.Context) error {
	segs := strings.Split(c.Request().URL.Path, "/")
next:
	for _, r := range d.routes {
		if len(r.pattern) != len(segs) {
			continue
		}
		for i, p := range r.pattern {
			if p != segs[i] && !(strings.HasPrefix(p, ":") && segs[i] != "") {
				continue next
			}
		}
		c.Response().Header().Set(echo.HeaderAllow, r.allow)
		return echo.ErrMethodNotAllowed
	}
	return echo.ErrNotFound
}

// page is what every template gets.
type page struct {
	Title  string
	Status int
	User   string
	CSRF   string

	// reason form and bar
	Reason      string
	ReasonError string
	MaxReason   int

	// index
	Tenants    []tenantRow
	Cursor     string
	NextCursor string
	Audit      []auditRow
	AuditLimit int

	// error
	Code      string
	Message   string
	RequestID string
}

type tenantRow struct {
	ID, Slug, Name, Status, Created string
	Members, Projects, Tasks        int64
	Active                          bool
}

type auditRow struct {
	At, Actor, Role, Action, Reason, RequestID string
	Tenants                                    []string
}

// newPage starts a page for the current request.
func newPage(c echo.Context, title string) page {
	id, _ := httpx.IdentityOf(c)
	token, _ := c.Get(csrfContextKey).(string)
	return page{Title: title, Status: http.StatusOK, User: id.Email, CSRF: token, MaxReason: tenancy.MaxReasonLen}
}

// render executes a template into a buffer first, so a template error
// becomes a clean 500 page instead of half a page.
func render(c echo.Context, status int, name string, p page) error {
	p.Status = status
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, p); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// GET /admin[?cursor=]
//
// Without a reason: the reason form, for Owners only (the Owner check is
// the caller's own session row, through the runtime role; nothing
// cross-tenant is read before there is a reason). With one: a page of
// tenants and the recent audit log, each read through the audited admin
// scope.
func (d *dashboard) index(c echo.Context) error {
	p := newPage(c, "Tenants")
	reason, ok := reasonOf(c, p.User)
	if !ok {
		if err := d.svc.CheckOwner(c.Request().Context(), httpx.Caller(c, "")); err != nil {
			return err
		}
		p.Title = "Audit reason"
		return render(c, http.StatusOK, "reason", p)
	}
	ctx := c.Request().Context()
	op, err := d.svc.Owner(ctx, httpx.Caller(c, ""), reason)
	if err != nil {
		return err
	}
	p.Reason, p.Cursor, p.AuditLimit = reason, c.QueryParam("cursor"), auditRows
	tenants, err := d.svc.ListTenants(ctx, op, tenancy.PageRequest{Limit: tenantsPerPage, Cursor: p.Cursor})
	if err != nil {
		return err
	}
	audit, err := d.svc.ListAudit(ctx, op, tenancy.AuditQuery{}, tenancy.PageRequest{Limit: auditRows})
	if err != nil {
		return err
	}
	if tenants.NextCursor != nil {
		p.NextCursor = *tenants.NextCursor
	}
	slugs := make(map[uuid.UUID]string, len(tenants.Items))
	for _, t := range tenants.Items {
		slugs[t.ID] = t.Slug
		p.Tenants = append(p.Tenants, tenantRow{
			ID: t.ID.String(), Slug: t.Slug, Name: t.Name, Status: t.Status, Created: t.CreatedAt.UTC().Format(time.DateOnly),
			Members: t.Members, Projects: t.Projects, Tasks: t.Tasks, Active: t.Status == tenancy.TenantActive,
		})
	}
	for _, a := range audit.Items {
		p.Audit = append(p.Audit, toAuditRow(a, slugs))
	}
	return render(c, http.StatusOK, "index", p)
}

// toAuditRow shows an audit entry, naming its tenants by slug when the page
// shows them (else by id).
func toAuditRow(a tenancy.AuditEntry, slugs map[uuid.UUID]string) auditRow {
	r := auditRow{At: a.At.UTC().Format(time.DateTime), Actor: a.ActorEmail, Role: a.ActorRole,
		Action: a.Action, Reason: a.Reason, RequestID: a.RequestID}
	for _, id := range a.TenantIDs {
		name, ok := slugs[id]
		if !ok {
			name = id.String()
		}
		r.Tenants = append(r.Tenants, name)
	}
	return r
}

// POST /admin/reason (form: reason)
func (d *dashboard) setReason(c echo.Context) error {
	p := newPage(c, "Audit reason")
	reason, err := tenancy.CleanReason(c.FormValue("reason"))
	if err != nil {
		// Refused before any query, like the API; the form comes back with
		// what was typed.
		p.Reason = c.FormValue("reason")
		p.ReasonError = "Give a reason of 1 to 500 characters, on one line."
		return render(c, http.StatusBadRequest, "reason", p)
	}
	if err := d.svc.CheckOwner(c.Request().Context(), httpx.Caller(c, "")); err != nil {
		return err
	}
	setReasonCookie(c, p.User, reason)
	return c.Redirect(http.StatusSeeOther, "/admin")
}

// POST /admin/reason/clear: forget the reason; the next view asks again.
func (d *dashboard) clearReason(c echo.Context) error {
	if err := d.svc.CheckOwner(c.Request().Context(), httpx.Caller(c, "")); err != nil {
		return err
	}
	clearReasonCookie(c)
	return c.Redirect(http.StatusSeeOther, "/admin")
}

// POST /admin/tenants/:id/suspend and /resume
func (d *dashboard) tenantStatus(set func(context.Context, tenancy.Operator, uuid.UUID) (tenancy.Tenant, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, _ := httpx.IdentityOf(c)
		reason, ok := reasonOf(c, id.Email)
		if !ok {
			return &tenancy.Error{Code: tenancy.CodeReasonRequired,
				Message: "this browser session has no audit reason: open the dashboard and give one first"}
		}
		op, err := d.svc.Owner(c.Request().Context(), httpx.Caller(c, ""), reason)
		if err != nil {
			return err
		}
		tenant, err := httpx.PathUUID(c, "id")
		if err != nil {
			return err
		}
		if _, err := set(c.Request().Context(), op, tenant); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/admin")
	}
}

func serveCSS(c echo.Context) error {
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", css)
}
