package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/cfaccess"
	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
	"github.com/pgtenant/pgtenant/internal/web"
)

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cloudflareSetup serves the API in AUTH_MODE=cloudflare against a local
// issuer that mints Access-shaped tokens.
func cloudflareSetup(t *testing.T, iss *cfaccesstest.Issuer, startTimeout time.Duration) (*fixture, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	v, err := cfaccess.New(ctx, cfaccess.Config{
		TeamDomain: iss.URL(), Audiences: []string{iss.Audience()}, AllowInsecureLoopback: true,
		ServiceTokens: map[string]string{"ci.access": "ci-bot@svc.example"},
	})
	require.NoError(t, err)
	t.Cleanup(v.Close)
	f := setup(t, func(c *web.Config) {
		c.Auth = auth.Cloudflare(v, auth.CloudflareOptions{})
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	f.fx.User(t, "ci-bot@svc.example")
	return f, logs
}

func (f *fixture) withToken(t *testing.T, path string, set func(r *http.Request)) response {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	set(req)
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func TestCloudflareModeOverHTTP(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	f, logs := cloudflareSetup(t, iss, 5*time.Second)
	header := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set(auth.HeaderAssertion, tok) }
	}

	// Accepted.
	r := f.withToken(t, "/v1/me", header(iss.UserToken(alice)))
	require.Equal(t, 200, r.status, string(r.body))
	r = f.withToken(t, "/v1/me", func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: iss.UserToken(alice)})
	})
	require.Equal(t, 200, r.status, "cookie")
	r = f.withToken(t, "/v1/me", header(iss.ServiceToken("ci.access")))
	require.Equal(t, 200, r.status, "mapped service token")
	var me web.Me
	r.json(t, &me)
	require.Equal(t, "ci-bot@svc.example", me.User.Email)
	require.Equal(t, "ci.access", me.Service)
	r = f.withToken(t, "/v1/tenants/tenant-a/projects", header(iss.UserToken(alice)))
	require.Equal(t, 200, r.status)

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
		r := f.withToken(t, "/v1/tenants/tenant-a/projects", header(tok))
		require.Equal(t, 401, r.status, name)
		p := r.problem(t)
		require.Equal(t, web.CodeUnauthenticated, p.Code, name)
		require.Equal(t, "authentication required", p.Detail, name)
		// Identical bodies but for the request id and nothing else.
		body := bytes.Replace(r.body, []byte(p.RequestID), nil, 1)
		if first == nil {
			first = body
		}
		require.Equal(t, string(first), string(body), name)
		require.NotContains(t, string(r.body), tok[:min(len(tok), 20)], name)
	}
	r = f.withToken(t, "/v1/me", func(*http.Request) {})
	require.Equal(t, 401, r.status, "no token")
	require.Contains(t, logs.String(), "request refused")
	require.Contains(t, logs.String(), "alg")
	require.Contains(t, logs.String(), "aud")
}

func TestCloudflareJWKSUnreachableAtStart(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	iss.SetOffline(true)
	f, _ := cloudflareSetup(t, iss, time.Second)
	r := f.do(t, "", "GET", "/readyz", nil)
	require.Equal(t, 503, r.status, "not ready while no key set has loaded")
	r = f.withToken(t, "/v1/tenants/tenant-a/projects", func(r *http.Request) {
		r.Header.Set(auth.HeaderAssertion, iss.UserToken(alice))
	})
	require.Equal(t, 503, r.status, "a valid-looking token is never accepted without keys")
	require.Equal(t, web.CodeUnavailable, r.problem(t).Code)
}
