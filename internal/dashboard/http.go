package dashboard

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// Dashboard CSRF settings.
const (
	csrfContextKey = "pgtenant.csrf"
	csrfCookieName = "pgtenant_admin_csrf"
	csrfFormField  = "_csrf"
	// csrfCookieMaxAge: Echo's CSRF cookie always carries Expires (it
	// cannot be a session cookie); the middleware re-sets it on every
	// dashboard request, so this bounds idleness, not a session.
	csrfCookieMaxAge = 12 * 60 * 60
)

// cspValue allows the embedded stylesheet and same-origin form
// posts, nothing else: no script at all (inline or not), no inline style,
// no framing (clickjacking of the suspend buttons), no <base> rewriting of
// the relative form actions, no plug-ins, images or connections.
const cspValue = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the security headers of every dashboard response,
// error pages included. They are set before the handler runs, so they are
// there whatever path the response takes.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", cspValue)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		return next(c)
	}
}

// csrf protects the dashboard's forms with Echo's CSRF middleware,
// which checks in two ways:
//
//   - Fetch metadata first: a browser that sends Sec-Fetch-Site is allowed
//     a POST only when it is same-origin (or "none", a user-typed
//     navigation). "cross-site" is refused by Echo; "same-site" (a sibling
//     subdomain) is refused here too, because a sibling can also toss a
//     cookie onto this host and so forge the double-submitted token below.
//   - Otherwise (older browsers, non-browser clients) the double-submit
//     token: the form's _csrf field must equal the HttpOnly, SameSite=Strict
//     cookie set with the page.
//
// Both variants of the cookie (Secure or not) are built once; the request
// picks one. Every refusal is the same 403 with CodeCSRF.
func csrf() echo.MiddlewareFunc {
	build := func(secure bool) echo.MiddlewareFunc {
		return middleware.CSRFWithConfig(middleware.CSRFConfig{
			TokenLookup:    "form:" + csrfFormField,
			ContextKey:     csrfContextKey,
			CookieName:     csrfCookieName,
			CookiePath:     "/admin",
			CookieMaxAge:   csrfCookieMaxAge,
			CookieHTTPOnly: true,
			CookieSecure:   secure,
			CookieSameSite: http.SameSiteStrictMode,
			AllowSecFetchSiteFunc: func(echo.Context) (bool, error) {
				return false, echo.NewHTTPError(http.StatusForbidden, "same-site request blocked by CSRF")
			},
		})
	}
	plain, secure := build(false), build(true)
	const passed = "pgtenant.csrf_passed"
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		mark := func(c echo.Context) error {
			c.Set(passed, true)
			return next(c)
		}
		hp, hs := plain(mark), secure(mark)
		return func(c echo.Context) error {
			h := hp
			if isSecure(c) {
				h = hs
			}
			err := h(c)
			if err != nil && c.Get(passed) == nil {
				return &tenancy.Error{Code: httpx.CodeCSRF,
					Message: "this form is stale or came from another site: reload the dashboard and try again", Err: err}
			}
			return err
		}
	}
}

// isSecure reports whether the browser reached us over TLS: directly, or
// through a TLS-terminating proxy that says so (Cloudflare Tunnel sets
// X-Forwarded-Proto). A forged header can only add Secure to the sender's
// own cookies, which costs nobody else anything.
func isSecure(c echo.Context) bool { return c.Scheme() == "https" }

// cookie is the shape of every cookie the dashboard sets: a
// session cookie (no Max-Age, no Expires), sent only to /admin, never to
// scripts, never with a request another site starts, and only over TLS
// when the page came over TLS.
func cookie(c echo.Context, name, value string) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/admin",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isSecure(c),
	}
}

// htmlErrors renders any error of a dashboard route as a small HTML page,
// with the status and message the shared mapping (httpx.Failure, Status)
// decides and the API's logging. Nothing of an internal error reaches the
// page.
func (d *dashboard) htmlErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil {
			return nil
		}
		e := httpx.Failure(err)
		status := httpx.Status(e.Code)
		httpx.LogFailure(d.log, c, status, e)
		if c.Response().Committed {
			return nil
		}
		if status == http.StatusUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", httpx.WWWAuthenticate)
		}
		p := newPage(c, http.StatusText(status))
		p.Code, p.Message, p.RequestID = string(e.Code), e.Message, httpx.RequestIDOf(c)
		if rerr := render(c, status, "error", p); rerr != nil {
			d.log.Error("dashboard error page failed", "request_id", httpx.RequestIDOf(c), "err", rerr.Error())
			return c.String(status, http.StatusText(status))
		}
		return nil
	}
}

// The reason cookie binds the reason to the identity that gave it:
// base64url(email) "." base64url(reason). Another identity in the same
// browser (Access sessions switch) does not inherit it. It is not signed:
// the reason is the Owner's own claim, which the API also takes as typed
// from a header, and the page shows it in the "Recording reason" bar above
// every action, so a planted cookie cannot go unseen.
const reasonCookieName = "pgtenant_admin_reason"

// reasonOf returns the remembered reason for email, if any and usable. A
// cookie that is malformed, unusable or someone else's counts as none.
func reasonOf(c echo.Context, email string) (string, bool) {
	ck, err := c.Cookie(reasonCookieName)
	if err != nil || ck.Value == "" {
		return "", false
	}
	e64, r64, ok := strings.Cut(ck.Value, ".")
	if !ok {
		return "", false
	}
	owner, err1 := base64.RawURLEncoding.DecodeString(e64)
	raw, err2 := base64.RawURLEncoding.DecodeString(r64)
	if err1 != nil || err2 != nil || string(owner) != email {
		return "", false
	}
	reason, err := tenancy.CleanReason(string(raw))
	if err != nil {
		return "", false
	}
	return reason, true
}

func setReasonCookie(c echo.Context, email, reason string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(email)) + "." + base64.RawURLEncoding.EncodeToString([]byte(reason))
	c.SetCookie(cookie(c, reasonCookieName, v))
}

func clearReasonCookie(c echo.Context) {
	ck := cookie(c, reasonCookieName, "")
	ck.MaxAge = -1
	c.SetCookie(ck)
}
