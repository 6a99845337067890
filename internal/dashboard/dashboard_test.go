package dashboard_test

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// dashClient is a browser-shaped client of the dashboard: it keeps cookies
// (Path, Max-Age and Secure rules included) and submits forms.
type dashClient struct {
	t     *testing.T
	f     *fixture
	email string
	jar   *cookiejar.Jar
	// header is added to every request (e.g. Sec-Fetch-Site).
	header http.Header
	// origin is where requests go (default dashOrigin); an https origin
	// makes httptest mark requests as TLS.
	origin string
}

const dashOrigin = "http://pgtenant.test"

func browse(t *testing.T, f *fixture, email string) *dashClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &dashClient{t: t, f: f, email: email, jar: jar, header: http.Header{}, origin: dashOrigin}
}

func (d *dashClient) do(method, path string, form url.Values) kit.Response {
	d.t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, d.origin+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, d.origin+path, nil)
	}
	if d.email != "" {
		req.Header.Set("X-Test-Email", d.email)
	}
	for k, v := range d.header {
		req.Header[k] = v
	}
	for _, c := range d.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	d.f.Handler.ServeHTTP(rec, req)
	d.jar.SetCookies(req.URL, rec.Result().Cookies())
	return kit.Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

func (d *dashClient) get(path string) kit.Response { d.t.Helper(); return d.do("GET", path, nil) }

// post submits a form; token "" sends no _csrf field.
func (d *dashClient) post(path, token string, fields ...string) kit.Response {
	d.t.Helper()
	form := url.Values{}
	if token != "" {
		form.Set("_csrf", token)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	return d.do("POST", path, form)
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// token reads the CSRF token from a rendered form.
func token(t *testing.T, r kit.Response) string {
	t.Helper()
	m := csrfField.FindSubmatch(r.Body)
	require.NotNil(t, m, "no _csrf field in %s", r.Body)
	return string(m[1])
}

// start opens the dashboard and gives a reason; it returns the CSRF token.
func (d *dashClient) start(reason string) string {
	d.t.Helper()
	r := d.get("/admin")
	require.Equal(d.t, 200, r.Status, string(r.Body))
	tok := token(d.t, r)
	r = d.post("/admin/reason", tok, "reason", reason)
	require.Equal(d.t, http.StatusSeeOther, r.Status, string(r.Body))
	require.Equal(d.t, "/admin", r.Header.Get("Location"))
	return tok
}

// errorPage checks a dashboard error page and returns its code.
func errorPage(t *testing.T, r kit.Response, status int) tenancy.Code {
	t.Helper()
	require.Equal(t, status, r.Status, string(r.Body))
	require.Equal(t, "text/html; charset=UTF-8", r.Header.Get("Content-Type"))
	m := regexp.MustCompile(`id="error" data-code="([a-z_]+)"`).FindSubmatch(r.Body)
	require.NotNil(t, m, string(r.Body))
	for _, leak := range []string{"goroutine", "SQLSTATE", "pgx", "txscope", "panic", ".go:"} {
		require.NotContains(t, string(r.Body), leak)
	}
	return tenancy.Code(m[1])
}

type auditRow struct {
	Action, Reason, Actor string
	Tenants               []uuid.UUID
}

// superDB reads the database past RLS for assertions, on one connection
// per test.
type superDB struct{ conn *pgx.Conn }

func superOf(t *testing.T, f *fixture) superDB { return superDB{conn: pgtest.Conn(t, f.DB.SuperURL)} }

func (db superDB) auditLog(t *testing.T) []auditRow {
	t.Helper()
	rows, err := db.conn.Query(t.Context(), "SELECT action, reason, actor_email, tenant_ids FROM audit_log ORDER BY id")
	require.NoError(t, err)
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var a auditRow
		require.NoError(t, rows.Scan(&a.Action, &a.Reason, &a.Actor, &a.Tenants))
		out = append(out, a)
	}
	require.NoError(t, rows.Err())
	return out
}

func (db superDB) tenantStatus(t *testing.T, id uuid.UUID) string {
	t.Helper()
	var s string
	require.NoError(t, db.conn.QueryRow(t.Context(), "SELECT status FROM tenants WHERE id = $1", id).Scan(&s))
	return s
}

func requireSecurityHeaders(t *testing.T, r kit.Response) {
	t.Helper()
	require.Equal(t, "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		r.Header.Get("Content-Security-Policy"))
	require.Equal(t, "DENY", r.Header.Get("X-Frame-Options"))
	require.Equal(t, "no-referrer", r.Header.Get("Referrer-Policy"))
	require.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "no-store", r.Header.Get("Cache-Control"))
}

// setCookie finds the raw Set-Cookie header for name.
func setCookie(t *testing.T, r kit.Response, name string) string {
	t.Helper()
	for _, v := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, name+"=") {
			return v
		}
	}
	t.Fatalf("no Set-Cookie for %s in %v", name, r.Header.Values("Set-Cookie"))
	return ""
}

// TestDashboardOwnerFlow: reason form, tenants with counts, suspend and
// resume through forms (POST-redirect-GET), each audited with the reason,
// and "change reason".
func TestDashboardOwnerFlow(t *testing.T) {
	t.Parallel()
	f := setup(t)
	db := superOf(t, f)
	d := browse(t, f, olga)

	// No reason yet: the form, and nothing cross-tenant read or audited.
	r := d.get("/admin")
	require.Equal(t, 200, r.Status, string(r.Body))
	require.Contains(t, string(r.Body), `id="reason-form"`)
	require.NotContains(t, string(r.Body), "tenant-a")
	require.Empty(t, db.auditLog(t))
	csrf := setCookie(t, r, "pgtenant_admin_csrf")
	for _, flag := range []string{"Path=/admin", "HttpOnly", "SameSite=Strict"} {
		require.Contains(t, csrf, flag)
	}
	tok := token(t, r)

	// Give the reason: a session cookie bound to /admin, then the tenants.
	r = d.post("/admin/reason", tok, "reason", "  ticket OPS-42  ")
	require.Equal(t, http.StatusSeeOther, r.Status, string(r.Body))
	ck := setCookie(t, r, "pgtenant_admin_reason")
	for _, flag := range []string{"Path=/admin", "HttpOnly", "SameSite=Strict"} {
		require.Contains(t, ck, flag)
	}
	for _, flag := range []string{"Max-Age", "Expires", "Secure", "Domain"} {
		require.NotContains(t, ck, flag, "a session cookie, host-only, plain HTTP here")
	}
	r = d.get("/admin")
	require.Equal(t, 200, r.Status, string(r.Body))
	body := string(r.Body)
	require.Contains(t, body, `<q id="current-reason">ticket OPS-42</q>`)
	for _, slug := range []string{"tenant-a", "tenant-b"} {
		require.Contains(t, body, `<tr data-slug="`+slug+`" data-status="active">`)
		require.Contains(t, body, `id="suspend-`+slug+`"`)
	}
	// tenant-a: alice and vera, Apollo, one task.
	require.Regexp(t, `(?s)data-slug="tenant-a".*?<td class="num">2</td>\s*<td class="num">1</td>\s*<td class="num">1</td>`, body)
	require.Equal(t, []string{"tenant.list", "audit.read"}, actions(db.auditLog(t)))

	// Suspend B.
	before := len(db.auditLog(t))
	r = d.post("/admin/tenants/"+f.TenantB.String()+"/suspend", tok)
	require.Equal(t, http.StatusSeeOther, r.Status, string(r.Body))
	require.Equal(t, "/admin", r.Header.Get("Location"))
	require.Equal(t, "suspended", db.tenantStatus(t, f.TenantB))
	require.Equal(t, "active", db.tenantStatus(t, f.TenantA))
	log := db.auditLog(t)
	require.Len(t, log, before+1)
	require.Equal(t, auditRow{Action: "tenant.suspend", Reason: "ticket OPS-42", Actor: olga, Tenants: []uuid.UUID{f.TenantB}}, log[before])
	_, err := f.Service.ListProjects(t.Context(), tenancy.Caller{Email: bob, Tenant: pgtest.TenantBSlug}, tenancy.PageRequest{})
	require.Equal(t, tenancy.CodeNotFound, tenancy.ErrorCode(err), "B's members lose access at once")

	r = d.get("/admin")
	body = string(r.Body)
	require.Contains(t, body, `<tr data-slug="tenant-b" data-status="suspended">`)
	require.Contains(t, body, `id="resume-tenant-b"`)
	require.Regexp(t, `(?s)<tr data-action="tenant.suspend">.*?<td class="reason">ticket OPS-42</td>\s*<td class="tenants">tenant-b</td>`, body)

	// Resume B.
	r = d.post("/admin/tenants/"+f.TenantB.String()+"/resume", tok)
	require.Equal(t, http.StatusSeeOther, r.Status, string(r.Body))
	require.Equal(t, "active", db.tenantStatus(t, f.TenantB))
	log = db.auditLog(t)
	require.Equal(t, "tenant.resume", log[len(log)-1].Action)

	// An unknown tenant is a 404 page and leaves no row; a malformed id 400.
	before = len(db.auditLog(t))
	r = d.post("/admin/tenants/"+uuid.NewString()+"/suspend", tok)
	require.Equal(t, tenancy.CodeNotFound, errorPage(t, r, 404))
	r = d.post("/admin/tenants/not-a-uuid/suspend", tok)
	require.Equal(t, tenancy.CodeInvalidID, errorPage(t, r, 400))
	require.Len(t, db.auditLog(t), before)

	// Change reason: the cookie goes, the form comes back; a new reason is
	// the one recorded from then on.
	r = d.post("/admin/reason/clear", tok)
	require.Equal(t, http.StatusSeeOther, r.Status, string(r.Body))
	require.Contains(t, setCookie(t, r, "pgtenant_admin_reason"), "Max-Age=0")
	r = d.get("/admin")
	require.Contains(t, string(r.Body), `id="reason-form"`)
	d.post("/admin/reason", tok, "reason", "second look")
	d.post("/admin/tenants/"+f.TenantA.String()+"/suspend", tok)
	log = db.auditLog(t)
	require.Equal(t, auditRow{Action: "tenant.suspend", Reason: "second look", Actor: olga, Tenants: []uuid.UUID{f.TenantA}}, log[len(log)-1])
}

func actions(rows []auditRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.Action)
	}
	return out
}

// TestDashboardCSRF: a state-changing form without the token, with a wrong
// one, or from another site is refused before any query, and changes
// nothing.
func TestDashboardCSRF(t *testing.T) {
	t.Parallel()
	f := setup(t)
	db := superOf(t, f)
	d := browse(t, f, olga)
	tok := d.start("csrf test")
	suspend := "/admin/tenants/" + f.TenantB.String() + "/suspend"
	otherTok := token(t, browse(t, f, olga).get("/admin"))
	require.NotEqual(t, tok, otherTok)
	audited := len(db.auditLog(t))

	for name, send := range map[string]func() kit.Response{
		"no token":                func() kit.Response { return d.post(suspend, "") },
		"wrong token":             func() kit.Response { return d.post(suspend, strings.Repeat("x", len(tok))) },
		"token, empty":            func() kit.Response { return d.do("POST", suspend, url.Values{"_csrf": {""}}) },
		"reason without token":    func() kit.Response { return d.post("/admin/reason", "", "reason", "x") },
		"clear without token":     func() kit.Response { return d.post("/admin/reason/clear", "") },
		"another browser's token": func() kit.Response { return d.post(suspend, otherTok) },
	} {
		before := f.Queries.Load()
		r := send()
		require.Equal(t, 403, r.Status, name)
		require.Equal(t, httpx.CodeCSRF, errorPage(t, r, 403), name)
		requireSecurityHeaders(t, r)
		require.Equal(t, before, f.Queries.Load(), "%s: no query ran", name)
	}

	// Fetch metadata: a browser says where a request comes from. Another
	// site, or a sibling subdomain, is refused even with the right token
	// (a sibling could have planted the cookie); same-origin passes.
	for _, site := range []string{"cross-site", "same-site"} {
		d.header.Set("Sec-Fetch-Site", site)
		r := d.post(suspend, tok)
		require.Equal(t, httpx.CodeCSRF, errorPage(t, r, 403), site)
	}
	require.Equal(t, "active", db.tenantStatus(t, f.TenantB))
	require.Len(t, db.auditLog(t), audited, "nothing reached the audit log")

	d.header.Set("Sec-Fetch-Site", "same-origin")
	r := d.post(suspend, "")
	require.Equal(t, http.StatusSeeOther, r.Status, "a same-origin form post of a browser that says so: %s", r.Body)
	require.Equal(t, "suspended", db.tenantStatus(t, f.TenantB))

	// Positive control on the token path.
	d.header.Del("Sec-Fetch-Site")
	r = d.post("/admin/tenants/"+f.TenantB.String()+"/resume", tok)
	require.Equal(t, http.StatusSeeOther, r.Status, string(r.Body))
	require.Equal(t, "active", db.tenantStatus(t, f.TenantB))
}

// TestDashboardSecurityHeaders: every dashboard response, pages, errors and
// the stylesheet, carries the headers; pages have no inline script or style.
func TestDashboardSecurityHeaders(t *testing.T) {
	t.Parallel()
	f := setup(t)
	owner := browse(t, f, olga)
	form := owner.get("/admin")
	tok := owner.start("headers")
	pages := map[string]kit.Response{
		"reason form":  form,
		"dashboard":    owner.get("/admin"),
		"css":          owner.get("/admin/static/admin.css"),
		"401":          browse(t, f, "").get("/admin"),
		"403":          browse(t, f, alice).get("/admin"),
		"404":          owner.get("/admin/nope"),
		"404 nested":   owner.get("/admin/tenants/" + f.TenantA.String()),
		"405":          owner.get("/admin/reason"),
		"405 /admin":   owner.do("DELETE", "/admin", nil),
		"400":          owner.get("/admin?cursor=Not_A_Cursor"),
		"csrf refusal": owner.post("/admin/reason", "", "reason", "x"),
		"redirect":     owner.post("/admin/tenants/"+f.TenantA.String()+"/suspend", tok),
	}
	for name, r := range pages {
		t.Run(name, func(t *testing.T) {
			requireSecurityHeaders(t, r)
			if name == "css" || name == "redirect" {
				return
			}
			require.Equal(t, "text/html; charset=UTF-8", r.Header.Get("Content-Type"))
			body := strings.ToLower(string(r.Body))
			require.NotContains(t, body, "<script")
			require.NotContains(t, body, "<style")
			require.NotContains(t, body, " style=")
			require.NotRegexp(t, `\son[a-z]+=`, body) // no onclick= and friends
			require.Contains(t, body, `<link rel="stylesheet" href="/admin/static/admin.css">`)
		})
	}
	require.Equal(t, 200, pages["css"].Status)
	require.Equal(t, "text/css; charset=utf-8", pages["css"].Header.Get("Content-Type"))
	require.Equal(t, 401, pages["401"].Status)
	require.Equal(t, `Cloudflare-Access realm="pgtenant"`, pages["401"].Header.Get("WWW-Authenticate"))
	require.Equal(t, tenancy.CodeOwnerOnly, errorPage(t, pages["403"], 403))
	require.Equal(t, tenancy.CodeNotFound, errorPage(t, pages["404"], 404))
	require.Equal(t, tenancy.CodeNotFound, errorPage(t, pages["404 nested"], 404))
	require.Equal(t, httpx.CodeMethod, errorPage(t, pages["405"], 405))
	require.Equal(t, "POST", pages["405"].Header.Get("Allow"))
	require.Equal(t, "GET", pages["405 /admin"].Header.Get("Allow"))
	require.Equal(t, tenancy.CodeInvalidCursor, errorPage(t, pages["400"], 400))
}

// TestDashboardEscapesHostileData: tenant names, slugs of the audit log,
// reasons and emails are data; the page shows them as text.
func TestDashboardEscapesHostileData(t *testing.T) {
	t.Parallel()
	f := setup(t)
	db := superOf(t, f)
	hostile := `<script>alert(1)</script>`
	f.Fx.Exec(t, "INSERT INTO tenants (slug, name) VALUES ('evil', $1)", hostile)
	reason := `"><img src=x onerror=alert(2)> ' & </q>`
	d := browse(t, f, olga)
	tok := d.start(reason)
	r := d.get("/admin")
	require.Equal(t, 200, r.Status, string(r.Body))
	body := string(r.Body)
	require.Contains(t, body, `<td class="name">&lt;script&gt;alert(1)&lt;/script&gt;</td>`)
	require.Contains(t, body, `&#34;&gt;&lt;img src=x onerror=alert(2)&gt; &#39; &amp; &lt;/q&gt;`)
	require.NotContains(t, body, hostile)
	require.NotContains(t, body, "<img")
	require.NotContains(t, body, "<script")

	// The reason round-trips intact into the audit log.
	d.post("/admin/tenants/"+f.TenantB.String()+"/suspend", tok)
	log := db.auditLog(t)
	require.Equal(t, reason, log[len(log)-1].Reason)

	// A rejected reason comes back in the form, escaped too.
	bad := `<b>` + strings.Repeat("x", 501)
	r = d.post("/admin/reason", tok, "reason", bad)
	require.Equal(t, 400, r.Status)
	require.Contains(t, string(r.Body), `id="reason-error"`)
	require.NotContains(t, string(r.Body), "<b>")
}

// TestDashboardReasonRequiredBeforeAnyQuery: a view or action without a
// usable reason runs no query: no reason cookie, a blank, oversized or
// forged one, or one given by another identity.
func TestDashboardReasonRequiredBeforeAnyQuery(t *testing.T) {
	t.Parallel()
	f := setup(t)
	db := superOf(t, f)
	d := browse(t, f, olga)
	tok := token(t, d.get("/admin"))

	for name, reason := range map[string]string{
		"blank":         "   ",
		"empty":         "",
		"control char":  "a\x07b",
		"newline":       "line\nbreak",
		"too long":      strings.Repeat("r", 501),
		"invalid utf-8": "\xff\xfe",
	} {
		before := f.Queries.Load()
		r := d.post("/admin/reason", tok, "reason", reason)
		require.Equal(t, 400, r.Status, "%s: %s", name, r.Body)
		require.Contains(t, string(r.Body), `id="reason-error"`, name)
		require.Equal(t, before, f.Queries.Load(), "%s: no query ran", name)
	}

	cookies := map[string]string{
		"none":         "",
		"garbage":      "not-base64!",
		"blank reason": b64(olga) + "." + b64("   "),
		"other user":   b64("mallory@x.example") + "." + b64("stolen reason"),
		"no email":     b64("") + "." + b64("reason"),
	}
	for name, value := range cookies {
		for _, action := range []string{"suspend", "resume"} {
			c := browse(t, f, olga)
			u, _ := url.Parse(dashOrigin + "/admin")
			c.jar.SetCookies(u, []*http.Cookie{{Name: "pgtenant_admin_csrf", Value: "t0k3n", Path: "/admin"}})
			if value != "" {
				c.jar.SetCookies(u, []*http.Cookie{{Name: "pgtenant_admin_reason", Value: value, Path: "/admin"}})
			}
			before := f.Queries.Load()
			r := c.post("/admin/tenants/"+f.TenantB.String()+"/"+action, "t0k3n")
			require.Equal(t, tenancy.CodeReasonRequired, errorPage(t, r, 400), "%s %s", name, action)
			require.Equal(t, before, f.Queries.Load(), "%s %s: no query ran", name, action)
		}
	}
	require.Equal(t, "active", db.tenantStatus(t, f.TenantB))
	require.Empty(t, db.auditLog(t))

	// A forged cookie is no reason for the view either: it asks again, and
	// reads nothing across tenants.
	c := browse(t, f, olga)
	u, _ := url.Parse(dashOrigin + "/admin")
	c.jar.SetCookies(u, []*http.Cookie{{Name: "pgtenant_admin_reason", Value: cookies["other user"], Path: "/admin"}})
	r := c.get("/admin")
	require.Equal(t, 200, r.Status)
	require.Contains(t, string(r.Body), `id="reason-form"`)
	require.Empty(t, db.auditLog(t))
}

// b64 encodes one half of a reason cookie, as the dashboard does.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestDashboardNonOwnersRefused: partners and viewers get a 403 page on
// every dashboard route, even with a reason and a valid CSRF token; the
// refusal is logged with who asked, and nothing changes.
func TestDashboardNonOwnersRefused(t *testing.T) {
	t.Parallel()
	logs := &kit.SyncBuffer{}
	f := setup(t, func(c *kit.AppConfig) { c.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
	db := superOf(t, f)
	for _, who := range []string{alice, vera, bob} {
		d := browse(t, f, who)
		r := d.get("/admin")
		require.Equal(t, tenancy.CodeOwnerOnly, errorPage(t, r, 403), who)
		require.NotContains(t, string(r.Body), "tenant-b")
		// The CSRF cookie came with the refusal; use it like a page would.
		u, _ := url.Parse(dashOrigin + "/admin")
		var tok string
		for _, c := range d.jar.Cookies(u) {
			if c.Name == "pgtenant_admin_csrf" {
				tok = c.Value
			}
		}
		require.NotEmpty(t, tok)
		r = d.post("/admin/reason", tok, "reason", "just looking")
		require.Equal(t, tenancy.CodeOwnerOnly, errorPage(t, r, 403), who)
		for _, v := range r.Header.Values("Set-Cookie") {
			require.False(t, strings.HasPrefix(v, "pgtenant_admin_reason="), "no reason cookie for a non-owner")
		}
		d.jar.SetCookies(u, []*http.Cookie{{Name: "pgtenant_admin_reason", Value: b64(who) + "." + b64("just looking"), Path: "/admin"}})
		for _, path := range []string{"/admin", "/admin/tenants/" + f.TenantA.String() + "/suspend", "/admin/tenants/" + f.TenantB.String() + "/resume", "/admin/reason/clear"} {
			method := "POST"
			if path == "/admin" {
				method = "GET"
			}
			r = d.do(method, path, url.Values{"_csrf": {tok}})
			require.Equal(t, tenancy.CodeOwnerOnly, errorPage(t, r, 403), "%s %s %s", who, method, path)
		}
	}
	r := browse(t, f, "stranger@x.example").get("/admin")
	require.Equal(t, tenancy.CodeUnknownUser, errorPage(t, r, 403))

	require.Contains(t, logs.String(), "admin access refused")
	for _, id := range []uuid.UUID{f.Alice, f.Vera, f.Bob} {
		require.Contains(t, logs.String(), `"user_id":"`+id.String()+`"`, "refusals name the user by id")
	}
	for _, who := range []string{alice, vera, bob} {
		require.NotContains(t, logs.String(), who, "no email in the log")
	}
	require.Contains(t, logs.String(), `"path":"/admin/tenants/`+f.TenantA.String()+`/suspend"`)
	require.Equal(t, "active", db.tenantStatus(t, f.TenantA))
	require.Equal(t, "active", db.tenantStatus(t, f.TenantB))
	require.Empty(t, db.auditLog(t))
}

// TestDashboardCookiesSecureOverTLS: over TLS both dashboard cookies are
// Secure as well.
func TestDashboardCookiesSecureOverTLS(t *testing.T) {
	t.Parallel()
	f := setup(t)
	d := browse(t, f, olga)
	d.origin = "https://pgtenant.test"
	r := d.get("/admin")
	require.Equal(t, 200, r.Status)
	require.Contains(t, setCookie(t, r, "pgtenant_admin_csrf"), "; Secure")
	r = d.post("/admin/reason", token(t, r), "reason", "tls")
	require.Equal(t, http.StatusSeeOther, r.Status, string(r.Body))
	ck := setCookie(t, r, "pgtenant_admin_reason")
	require.Contains(t, ck, "; Secure")
	require.NotContains(t, ck, "Max-Age")
	require.NotContains(t, ck, "Expires")
	r = d.get("/admin")
	require.Contains(t, string(r.Body), `<q id="current-reason">tls</q>`)
}

// TestDashboardTenantPages: more tenants than a page holds are paged (by
// slug) with a cursor link the dashboard makes.
func TestDashboardTenantPages(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.Fx.Exec(t, "INSERT INTO tenants (slug, name) SELECT 'x-' || lpad(i::text, 3, '0'), 'X ' || i FROM generate_series(1, 99) i")
	d := browse(t, f, olga)
	d.start("paging")
	r := d.get("/admin")
	require.Equal(t, 200, r.Status)
	rows := regexp.MustCompile(`<tr data-slug="([a-z0-9-]+)"`).FindAllSubmatch(r.Body, -1)
	require.Len(t, rows, 100)
	require.Equal(t, "tenant-a", string(rows[0][1]))
	require.Equal(t, "x-098", string(rows[99][1]))
	next := regexp.MustCompile(`<a href="(/admin\?cursor=[A-Za-z0-9_-]+)" id="next-page">`).FindSubmatch(r.Body)
	require.NotNil(t, next, "a next-page link")
	r = d.get(string(next[1]))
	require.Equal(t, 200, r.Status)
	rows = regexp.MustCompile(`<tr data-slug="([a-z0-9-]+)"`).FindAllSubmatch(r.Body, -1)
	require.Len(t, rows, 1)
	require.Equal(t, "x-099", string(rows[0][1]))
	require.NotContains(t, string(r.Body), `id="next-page"`)
}
