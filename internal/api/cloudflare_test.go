package api_test

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/api"
	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
)

// cloudflareSetup serves the API in AUTH_MODE=cloudflare against a local
// issuer that mints Access-shaped tokens.
func cloudflareSetup(t *testing.T, iss *cfaccesstest.Issuer) (*fixture, *kit.SyncBuffer) {
	t.Helper()
	logs := &kit.SyncBuffer{}
	f := setup(t, func(c *kit.AppConfig, _ *api.Config) {
		c.Auth = kit.Cloudflare(t, iss, 5*time.Second)
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	f.Fx.User(t, kit.ServiceIdentity)
	return f, logs
}

func withToken(t *testing.T, f *fixture, path string, set func(r *http.Request)) kit.Response {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	set(req)
	return kit.Serve(f.Handler, req)
}

func TestCloudflareModeOverHTTP(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	f, logs := cloudflareSetup(t, iss)
	header := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set(auth.HeaderAssertion, tok) }
	}

	// Accepted.
	r := withToken(t, f, "/v1/me", header(iss.UserToken(alice)))
	require.Equal(t, 200, r.Status, string(r.Body))
	r = withToken(t, f, "/v1/me", func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: iss.UserToken(alice)})
	})
	require.Equal(t, 200, r.Status, "cookie")
	r = withToken(t, f, "/v1/me", header(iss.ServiceToken("ci.access")))
	require.Equal(t, 200, r.Status, "mapped service token")
	var me api.Me
	r.JSON(t, &me)
	require.Equal(t, kit.ServiceIdentity, me.User.Email)
	require.Equal(t, "ci.access", me.Service)
	r = withToken(t, f, "/v1/tenants/tenant-a/projects", header(iss.UserToken(alice)))
	require.Equal(t, 200, r.Status)

	// Rejected: every case is the same 401 body; the reason is in the log.
	parts := strings.Split(iss.UserToken(alice), ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	cases := map[string]string{
		"alg none":                  none,
		"HS256 with the public key": iss.UserToken(alice, cfaccesstest.WithAlg("HS256"), cfaccesstest.WithHMACSecret(iss.PublicKeyPEM())),
		"RS384":                     iss.UserToken(alice, cfaccesstest.WithAlg("RS384")),
		"wrong aud":                 iss.UserToken(alice, cfaccesstest.WithAudience("another-app")),
		"wrong iss":                 iss.UserToken(alice, cfaccesstest.WithIssuer("https://evil.cloudflareaccess.com")),
		"expired":                   iss.UserToken(alice, cfaccesstest.WithExpiry(time.Now().Add(-time.Hour))),
		"type org":                  iss.UserToken(alice, cfaccesstest.WithType("org")),
		"unknown kid":               iss.UserToken(alice, cfaccesstest.WithKeyID("no-such-kid")),
		"jku to attacker keys":      iss.UserToken(alice, cfaccesstest.WithHeader("jku", "https://evil.example/keys"), cfaccesstest.WithRSAKey(cfaccesstest.NewRSAKey(t))),
		"two parts":                 parts[0] + "." + parts[1],
		"oversized":                 strings.Repeat("a", 9000) + "." + parts[1] + "." + parts[2],
		"unmapped service":          iss.ServiceToken("rogue.access"),
		"garbage":                   "not-a-token",
	}
	var first []byte
	for name, tok := range cases {
		r := withToken(t, f, "/v1/tenants/tenant-a/projects", header(tok))
		require.Equal(t, 401, r.Status, name)
		p := r.Problem(t)
		require.Equal(t, httpx.CodeUnauthenticated, p.Code, name)
		require.Equal(t, "authentication required", p.Detail, name)
		// Identical bodies but for the request id and nothing else.
		body := bytes.Replace(r.Body, []byte(p.RequestID), nil, 1)
		if first == nil {
			first = body
		}
		require.Equal(t, string(first), string(body), name)
		require.NotContains(t, string(r.Body), tok[:min(len(tok), 20)], name)
	}
	r = withToken(t, f, "/v1/me", func(*http.Request) {})
	require.Equal(t, 401, r.Status, "no token")
	require.Contains(t, logs.String(), "request refused")
	require.Contains(t, logs.String(), "alg")
	require.Contains(t, logs.String(), "aud")
}
