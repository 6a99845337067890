package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// The Owner dashboard: a small server-rendered HTML page over the same
// audited operations as the admin API (listTenantsPage, readAudit,
// setTenantStatus), at /admin.
//
// The audit reason that the API takes from X-Audit-Reason comes from a
// session cookie here: the Owner types it once, and it is what adminActor
// gets for every view and action until the browser session ends or the
// Owner changes it. Dashboard-only concerns (HTML errors, CSRF, security
// headers, cookies) live in dashboard_http.go.

//go:embed dashboard/*.html dashboard/admin.css
var dashboardFS embed.FS

var (
	dashboardTemplates = template.Must(template.ParseFS(dashboardFS, "dashboard/*.html"))
	dashboardCSS       = func() []byte {
		b, err := dashboardFS.ReadFile("dashboard/admin.css")
		if err != nil {
			panic(err)
		}
		return b
	}()
)

// Dashboard sizes.
const (
	dashboardTenantsPerPage = 100
	dashboardAuditRows      = 50
)

// dashboard holds the dashboard's handlers.
type dashboard struct {
	s      *Server
	routes []dashRoute // for 405 vs 404
}

type dashRoute struct {
	pattern []string // path segments; ":x" matches any one segment
	allow   string   // the Allow header value
}

// dashboardRoutes registers the Owner dashboard under /admin. authn is the
// same authentication middleware the API uses.
func (s *Server) dashboardRoutes(e *echo.Echo, authn echo.MiddlewareFunc) {
	d := &dashboard{s: s}
	// Outermost first: errors become HTML pages (and panics errors) for
	// everything inside, headers are set before anything can fail, then
	// authentication, then the CSRF check (after authentication, so a
	// stranger gets 401, not a CSRF error).
	mw := []echo.MiddlewareFunc{d.htmlErrors, recoverMiddleware(s.log), dashboardHeaders, authn, dashboardCSRF()}
	d.route(e, http.MethodGet, "/admin", d.index, mw)
	d.route(e, http.MethodPost, "/admin/reason", d.setReason, mw)
	d.route(e, http.MethodPost, "/admin/reason/clear", d.clearReason, mw)
	d.route(e, http.MethodPost, "/admin/tenants/:id/suspend", d.tenantStatus("suspended"), mw)
	d.route(e, http.MethodPost, "/admin/tenants/:id/resume", d.tenantStatus("active"), mw)
	// The stylesheet is public: it holds nothing, and the page must be
	// styled even on a 401.
	d.route(e, http.MethodGet, "/admin/static/admin.css", serveDashboardCSS, []echo.MiddlewareFunc{d.htmlErrors, dashboardHeaders})
	// Anything else under /admin is an HTML 404 or 405, not the API's JSON.
	e.RouteNotFound("/admin/*", d.notFound, d.htmlErrors, dashboardHeaders)
}

// route registers one dashboard route. Echo's router answers a wrong
// method (405) and an unknown path (404) before any route middleware
// runs, so as the API's JSON; the RouteNotFound handlers here and on
// /admin/* answer them as HTML instead.
func (d *dashboard) route(e *echo.Echo, method, path string, h echo.HandlerFunc, mw []echo.MiddlewareFunc) {
	e.Add(method, path, h, mw...)
	e.RouteNotFound(path, d.notFound, d.htmlErrors, dashboardHeaders)
	d.routes = append(d.routes, dashRoute{pattern: strings.Split(path, "/"), allow: method})
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

// dashPage is what every template gets.
type dashPage struct {
	Title  string
	Status int
	User   string
	CSRF   string

	// reason form and bar
	Reason      string
	ReasonError string
	MaxReason   int

	// index
	Tenants    []dashTenant
	After      string
	NextAfter  string
	Audit      []dashAudit
	AuditLimit int

	// error
	Code      string
	Message   string
	RequestID string
}

type dashTenant struct {
	ID, Slug, Name, Status, Created string
	Members, Projects, Tasks        int64
	Active                          bool
}

type dashAudit struct {
	At, Actor, Role, Action, Reason, RequestID string
	Tenants                                    []string
}

// page starts a page for the current request.
func (d *dashboard) page(c echo.Context, title string) dashPage {
	id, _ := identityOf(c)
	token, _ := c.Get(csrfContextKey).(string)
	return dashPage{Title: title, Status: http.StatusOK, User: id.Email, CSRF: token, MaxReason: txscope.MaxReasonLen}
}

// render executes a template into a buffer first, so a template error
// becomes a clean 500 page instead of half a page.
func (d *dashboard) render(c echo.Context, status int, name string, p dashPage) error {
	p.Status = status
	var buf bytes.Buffer
	if err := dashboardTemplates.ExecuteTemplate(&buf, name, p); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// GET /admin[?after=slug]
//
// Without a reason: the reason form, for Owners only (the Owner check is
// the caller's own session row, through the runtime role; nothing
// cross-tenant is read before there is a reason). With one: the tenants
// and the recent audit log, each read through the audited admin scope.
func (d *dashboard) index(c echo.Context) error {
	p := d.page(c, "Tenants")
	reason, ok := d.reasonOf(c, p.User)
	if !ok {
		if err := d.requireOwner(c); err != nil {
			return err
		}
		p.Title = "Audit reason"
		return d.render(c, http.StatusOK, "reason", p)
	}
	after := c.QueryParam("after")
	if after != "" && !rules.ValidSlug(after) {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidCursor, Detail: "that page link is not one this dashboard made"}
	}
	actor, reason, err := d.s.adminActor(c, reason)
	if err != nil {
		return err
	}
	rows, err := d.s.listTenantsPage(c, actor, reason, after, dashboardTenantsPerPage+1)
	if err != nil {
		return err
	}
	audit, err := d.s.readAudit(c, actor, reason, dbgen.AdminAuditListParams{Lim: dashboardAuditRows})
	if err != nil {
		return err
	}
	p.Reason, p.After, p.AuditLimit = reason, after, dashboardAuditRows
	slugs := make(map[uuid.UUID]string, len(rows))
	for i, r := range rows {
		if i == dashboardTenantsPerPage {
			p.NextAfter = rows[i-1].Slug
			break
		}
		slugs[r.ID] = r.Slug
		p.Tenants = append(p.Tenants, dashTenant{
			ID: r.ID.String(), Slug: r.Slug, Name: r.Name, Status: r.Status, Created: r.CreatedAt.UTC().Format(time.DateOnly),
			Members: r.Members, Projects: r.Projects, Tasks: r.Tasks, Active: r.Status == "active",
		})
	}
	for _, a := range audit {
		e := dashAudit{At: a.At.UTC().Format(time.DateTime), Actor: a.ActorEmail, Role: a.ActorRole,
			Action: a.Action, Reason: a.Reason, RequestID: a.RequestID}
		for _, id := range a.TenantIds {
			name, ok := slugs[id]
			if !ok {
				name = id.String()
			}
			e.Tenants = append(e.Tenants, name)
		}
		p.Audit = append(p.Audit, e)
	}
	return d.render(c, http.StatusOK, "index", p)
}

// POST /admin/reason (form: reason)
func (d *dashboard) setReason(c echo.Context) error {
	p := d.page(c, "Audit reason")
	reason, err := txscope.CleanReason(c.FormValue("reason"))
	if err != nil {
		// Refused before any query, like the API; the form comes back with
		// what was typed.
		p.Reason = c.FormValue("reason")
		p.ReasonError = "Give a reason of 1 to 500 characters, on one line."
		return d.render(c, http.StatusBadRequest, "reason", p)
	}
	if err := d.requireOwner(c); err != nil {
		return err
	}
	setReasonCookie(c, p.User, reason)
	return c.Redirect(http.StatusSeeOther, "/admin")
}

// POST /admin/reason/clear: forget the reason; the next view asks again.
func (d *dashboard) clearReason(c echo.Context) error {
	if err := d.requireOwner(c); err != nil {
		return err
	}
	clearReasonCookie(c)
	return c.Redirect(http.StatusSeeOther, "/admin")
}

// POST /admin/tenants/:id/suspend and /resume
func (d *dashboard) tenantStatus(status string) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, _ := identityOf(c)
		reason, ok := d.reasonOf(c, id.Email)
		if !ok {
			return &Error{Status: http.StatusBadRequest, Code: CodeReasonRequired,
				Detail: "this browser session has no audit reason: open the dashboard and give one first"}
		}
		actor, reason, err := d.s.adminActor(c, reason)
		if err != nil {
			return err
		}
		tenant, err := pathUUID(c, "id")
		if err != nil {
			return err
		}
		if _, err := d.s.setTenantStatus(c, actor, reason, tenant, status); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/admin")
	}
}

// requireOwner refuses anyone but an Owner (403, logged) where no admin
// scope is opened: the reason form and "change reason".
func (d *dashboard) requireOwner(c echo.Context) error {
	_, err := d.s.ownerActor(c)
	return err
}

func serveDashboardCSS(c echo.Context) error {
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", dashboardCSS)
}
