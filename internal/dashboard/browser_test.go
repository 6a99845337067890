package dashboard_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
)

// chromiumPath finds Debian's chromium. Without it the browser test skips,
// unless PGTENANT_REQUIRE_BROWSER=1 (CI sets it), which makes that a
// failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	pgtest.SkipSuite(t, "Owner dashboard in a browser (internal/dashboard)", "no chromium on PATH",
		"apt-get install -y chromium", "PGTENANT_REQUIRE_BROWSER")
	return ""
}

// TestDashboardInBrowser drives the Owner dashboard in a real headless
// Chromium against the API on a loopback listener in AUTH_MODE=cloudflare:
// the browser signs in with a real Access token in the CF_Authorization
// cookie, gives a reason, suspends tenant-b and sees the audit entry; a
// Partner in another browser context is refused and changes nothing.
//
// PGTENANT_DASHBOARD_PNG=path also saves the Owner's screenshot there
// (docs/dashboard.png is made this way).
func TestDashboardInBrowser(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	iss := cfaccesstest.NewIssuer(t)
	f := setup(t, func(c *kit.AppConfig) { c.Auth = kit.Cloudflare(t, iss, 5*time.Second) })
	db := superOf(t, f)
	srv := httptest.NewServer(f.Handler)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	chromeOut := &kit.SyncBuffer{}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root in a container: no user namespaces for the sandbox
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
		// This machine's network is closed: nothing may reach out.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.CombinedOutput(chromeOut),
	)
	defer cancelAlloc() // stops the browser and waits for it
	defer func() {
		if t.Failed() {
			out := chromeOut.String()
			t.Logf("chromium output (tail):\n%s", out[max(0, len(out)-4000):])
		}
	}()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	require.NoError(t, chromedp.Do(browser), "start chromium")

	// signIn opens a fresh browser context (its own cookie jar) carrying
	// email's Access token, as Cloudflare Access would have set it.
	signIn := func(email string) context.Context {
		c, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		httpOnly := true
		_, err := chromedp.Call(c, network.SetCookie, network.SetCookieParams{
			Name: auth.CookieName, Value: iss.UserToken(email), URL: srv.URL, Path: "/",
			HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteLax,
		})
		require.NoError(t, err)
		return c
	}
	text := func(c context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		return strings.TrimSpace(s)
	}

	// The Owner: the reason form first.
	owner := signIn(olga)
	resp, err := chromedp.Run(owner, chromedp.NavigateResponse(srv.URL+"/admin"))
	require.NoError(t, err)
	require.EqualValues(t, 200, resp.Status)
	require.Equal(t, olga, text(owner, "#user"))
	reason := "INC-314: customer asked to pause tenant-b"
	require.NoError(t, chromedp.Do(owner, chromedp.SendKeys(chromedp.ID("reason"), reason)))
	resp, err = chromedp.RunResponse(owner, chromedp.Click(chromedp.ID("reason-submit")))
	require.NoError(t, err)
	require.EqualValues(t, 200, resp.Status, "after the redirect")

	// Both tenants, styled by the stylesheet the CSP allows.
	require.NoError(t, chromedp.Do(owner, chromedp.WaitVisible(chromedp.ID("tenants"))))
	require.Equal(t, reason, text(owner, "#current-reason"))
	tenants := text(owner, "#tenants tbody")
	require.Contains(t, tenants, "tenant-a")
	require.Contains(t, tenants, "tenant-b")
	bg, err := chromedp.Run(owner, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header.bar")).backgroundColor`))
	require.NoError(t, err)
	require.Equal(t, "rgb(17, 24, 39)", bg, "admin.css applied")

	// Suspend tenant-b.
	resp, err = chromedp.RunResponse(owner, chromedp.Click(chromedp.ID("suspend-tenant-b")))
	require.NoError(t, err)
	require.EqualValues(t, 200, resp.Status)
	require.NoError(t, chromedp.Do(owner, chromedp.WaitVisible(chromedp.CSS(`tr[data-slug="tenant-b"][data-status="suspended"]`))))
	require.Equal(t, "suspended", text(owner, `tr[data-slug="tenant-b"] .status`))
	require.Equal(t, "active", text(owner, `tr[data-slug="tenant-a"] .status`))
	require.Equal(t, reason, text(owner, `#audit tr[data-action="tenant.suspend"] td.reason`))
	require.Equal(t, "tenant-b", text(owner, `#audit tr[data-action="tenant.suspend"] td.tenants`))
	html, err := chromedp.Run(owner, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	require.NotContains(t, html, iss.UserToken(olga)[:40], "no token in the page")
	require.NotContains(t, html, "<script")

	png, err := chromedp.Run(owner, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(t.TempDir(), "dashboard.png"), png, 0o644))
	if p := os.Getenv("PGTENANT_DASHBOARD_PNG"); p != "" {
		require.NoError(t, os.WriteFile(p, png, 0o644))
	}

	// The database agrees.
	require.Equal(t, "suspended", db.tenantStatus(t, f.TenantB))
	require.Equal(t, "active", db.tenantStatus(t, f.TenantA))
	log := db.auditLog(t)
	var suspends []auditRow
	for _, a := range log {
		require.Equal(t, olga, a.Actor)
		require.Equal(t, reason, a.Reason)
		if a.Action == "tenant.suspend" {
			suspends = append(suspends, a)
		}
	}
	require.Len(t, suspends, 1)
	require.Equal(t, []uuid.UUID{f.TenantB}, suspends[0].Tenants)
	auditRows := len(log)

	// A Partner, in another browser context: 403, and nothing changes.
	partner := signIn(alice)
	resp, err = chromedp.Run(partner, chromedp.NavigateResponse(srv.URL+"/admin"))
	require.NoError(t, err)
	require.EqualValues(t, 403, resp.Status)
	attrs, err := chromedp.Run(partner, chromedp.Attributes(chromedp.CSS("#error")))
	require.NoError(t, err)
	require.Equal(t, "owner_only", attrs["data-code"])
	require.Contains(t, text(partner, "#error"), "only platform owners")
	require.Equal(t, alice, text(partner, "#user"))
	n, err := chromedp.Run(partner, chromedp.Evaluate[int](`document.querySelectorAll("#tenants, #audit, form").length`))
	require.NoError(t, err)
	require.Zero(t, n, "no tenant data and no forms for a partner")
	require.Equal(t, "active", db.tenantStatus(t, f.TenantA))
	require.Equal(t, "suspended", db.tenantStatus(t, f.TenantB))
	require.Len(t, db.auditLog(t), auditRows, "the refusal wrote nothing")
}
