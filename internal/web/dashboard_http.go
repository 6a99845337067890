package web

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/pgtenant/pgtenant/internal/txscope"
)

// CodeCSRF is the error code of a dashboard form refused by the CSRF check.
const CodeCSRF = "csrf_failed"

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

// dashboardCSPValue allows the embedded stylesheet and same-origin form
// posts, nothing else: no script at all (inline or not), no inline style,
// no framing (clickjacking of the suspend buttons), no <base> rewriting of
// the relative form actions, no plug-ins, images or connections.
const dashboardCSPValue = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// dashboardHeaders sets the security headers of every dashboard response,
// error pages included. They are set before the handler runs, so they are
// there whatever path the response takes.
func dashboardHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", dashboardCSPValue)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		return next(c)
	}
}

// dashboardCSRF protects the dashboard's forms with Echo's CSRF middleware,
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
func dashboardCSRF() echo.MiddlewareFunc {
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
				return &Error{Status: http.StatusForbidden, Code: CodeCSRF,
					Detail: "this form is stale or came from another site: reload the dashboard and try again", Internal: err}
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

// dashboardCookie is the shape of every cookie the dashboard sets: a
// session cookie (no Max-Age, no Expires), sent only to /admin, never to
// scripts, never with a request another site starts, and only over TLS
// when the page came over TLS.
func dashboardCookie(c echo.Context, name, value string) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/admin",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isSecure(c),
	}
}

// htmlErrors renders any error of a dashboard route as a small HTML page,
// with the status and message the API's mapping (toAPIError) decides and
// the same logging as the API's error handler. Nothing of an internal
// error reaches the page.
func (d *dashboard) htmlErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil {
			return nil
		}
		ae := toAPIError(err)
		attrs := []any{"request_id", requestID(c), "status", ae.Status, "code", ae.Code,
			"method", c.Request().Method, "path", c.Request().URL.Path}
		if ae.Internal != nil {
			attrs = append(attrs, "err", ae.Internal.Error())
		}
		switch {
		case ae.Status >= 500:
			d.s.log.Error("request failed", attrs...)
		case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
			d.s.log.Info("request refused", attrs...)
		default:
			d.s.log.Debug("client error", attrs...)
		}
		if c.Response().Committed {
			return nil
		}
		if ae.Status == http.StatusUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", `Cloudflare-Access realm="pgtenant"`)
		}
		p := d.page(c, http.StatusText(ae.Status))
		p.Code, p.Message, p.RequestID = ae.Code, ae.Detail, requestID(c)
		if rerr := d.render(c, ae.Status, "error", p); rerr != nil {
			d.s.log.Error("dashboard error page failed", "request_id", requestID(c), "err", rerr.Error())
			return c.String(ae.Status, http.StatusText(ae.Status))
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
func (d *dashboard) reasonOf(c echo.Context, email string) (string, bool) {
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
	reason, err := txscope.CleanReason(string(raw))
	if err != nil {
		return "", false
	}
	return reason, true
}

func setReasonCookie(c echo.Context, email, reason string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(email)) + "." + base64.RawURLEncoding.EncodeToString([]byte(reason))
	c.SetCookie(dashboardCookie(c, reasonCookieName, v))
}

func clearReasonCookie(c echo.Context) {
	ck := dashboardCookie(c, reasonCookieName, "")
	ck.MaxAge = -1
	c.SetCookie(ck)
}
