package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/api"
	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// proxyPeer is the TCP peer of requests "from the trusted proxy".
const proxyPeer = "192.0.2.10:4444"

// trustedHeaderSetup serves the API in AUTH_MODE=trusted-header, trusting
// 192.0.2.0/24, with kate@acme.com a partner of tenant-a.
func trustedHeaderSetup(t *testing.T) *fixture {
	t.Helper()
	th, err := auth.TrustedHeader([]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")})
	require.NoError(t, err)
	f := setup(t, func(c *kit.AppConfig, _ *api.Config) { c.Auth = th })
	f.Fx.Member(t, f.TenantA, f.Fx.User(t, pgtest.KateEmail), "partner")
	return f
}

// me asks GET /v1/me with set applied to the request.
func me(f *fixture, set func(*http.Request)) kit.Response {
	req := httptest.NewRequest("GET", "/v1/me", nil)
	req.RemoteAddr = proxyPeer
	set(req)
	return kit.Serve(f.Handler, req)
}

// requireConfusable checks the answer to an identity of the confusables
// table: kate's ASCII spellings are kate; an invisible or blank character,
// or a decomposed one, is a 401; any other spelling is its own identity,
// which has no user row: 403 unknown_user, never kate's account.
func requireConfusable(t *testing.T, c pgtest.Confusable, r kit.Response) {
	t.Helper()
	switch {
	case c.Normalized == pgtest.KateEmail:
		require.Equal(t, 200, r.Status, "%s: %s", c.Name, r.Body)
		var m api.Me
		r.JSON(t, &m)
		require.Equal(t, pgtest.KateEmail, m.User.Email, c.Name)
		return
	case !c.Valid:
		require.Equal(t, 401, r.Status, "%s: %s", c.Name, r.Body)
		require.Equal(t, "unauthenticated", string(r.Problem(t).Code))
	default:
		require.Equal(t, 403, r.Status, "%s: %s", c.Name, r.Body)
		require.Equal(t, tenancy.CodeUnknownUser, r.Problem(t).Code, c.Name)
	}
	require.NotContains(t, string(r.Body), "tenant-a", "%s: nothing of kate's", c.Name)
}

// TestConfusableIdentitiesOverHTTP: issue 11 found that \u212Aate@acme.com
// and kate@acme.com wrapped in U+00A0 signed in as kate, from the trusted
// header and from signed tokens. Every identity of the table gets only what
// its own spelling is entitled to, in both modes.
func TestConfusableIdentitiesOverHTTP(t *testing.T) {
	t.Parallel()
	t.Run("trusted-header", func(t *testing.T) {
		t.Parallel()
		f := trustedHeaderSetup(t)
		for _, c := range pgtest.Confusables {
			requireConfusable(t, c, me(f, func(r *http.Request) { r.Header.Set(auth.HeaderEmail, c.Email) }))
		}
	})
	t.Run("cloudflare", func(t *testing.T) {
		t.Parallel()
		iss := cfaccesstest.NewIssuer(t)
		f := setup(t, func(c *kit.AppConfig, _ *api.Config) { c.Auth = kit.Cloudflare(t, iss, 5*time.Second) })
		f.Fx.Member(t, f.TenantA, f.Fx.User(t, pgtest.KateEmail), "partner")
		for _, c := range pgtest.Confusables {
			tok := iss.UserToken(c.Email)
			requireConfusable(t, c, me(f, func(r *http.Request) { r.Header.Set(auth.HeaderAssertion, tok) }))
		}
	})
}

// TestOneIdentityPerRequestOverHTTP: a request carrying two identity
// headers (trusted-header), two assertions or, without an assertion, two
// CF_Authorization cookies (cloudflare) is a 401, whichever comes first;
// one of each is the positive control.
func TestOneIdentityPerRequestOverHTTP(t *testing.T) {
	t.Parallel()
	f := trustedHeaderSetup(t)
	require.Equal(t, 200, me(f, func(r *http.Request) { r.Header.Set(auth.HeaderEmail, pgtest.KateEmail) }).Status)
	for _, order := range [][2]string{{pgtest.KateEmail, alice}, {alice, pgtest.KateEmail}, {alice, alice}} {
		r := me(f, func(r *http.Request) {
			r.Header.Add(auth.HeaderEmail, order[0])
			r.Header.Add(auth.HeaderEmail, order[1])
		})
		require.Equal(t, 401, r.Status, "%v", order)
	}

	iss := cfaccesstest.NewIssuer(t)
	cf := setup(t, func(c *kit.AppConfig, _ *api.Config) { c.Auth = kit.Cloudflare(t, iss, 5*time.Second) })
	aliceTok, bobTok := iss.UserToken(alice), iss.UserToken(bob)
	require.Equal(t, 200, me(cf, func(r *http.Request) { r.Header.Set(auth.HeaderAssertion, aliceTok) }).Status)
	require.Equal(t, 401, me(cf, func(r *http.Request) {
		r.Header.Add(auth.HeaderAssertion, bobTok)
		r.Header.Add(auth.HeaderAssertion, aliceTok)
	}).Status, "two assertions")
	twoCookies := func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: bobTok})
		r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: aliceTok})
	}
	require.Equal(t, 401, me(cf, twoCookies).Status, "two cookies")
	r := me(cf, func(r *http.Request) { twoCookies(r); r.Header.Set(auth.HeaderAssertion, aliceTok) })
	require.Equal(t, 200, r.Status, "the assertion wins; cookies are not read")
	var m api.Me
	r.JSON(t, &m)
	require.Equal(t, alice, m.User.Email)
}
