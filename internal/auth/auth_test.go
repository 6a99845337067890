package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/cfaccess"
	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
)

// countingVerifier counts Verify calls, to see the cache work.
type countingVerifier struct {
	v *cfaccess.Verifier
	n atomic.Int64
}

func (c *countingVerifier) Verify(ctx context.Context, token string) (cfaccess.Claims, error) {
	c.n.Add(1)
	return c.v.Verify(ctx, token)
}
func (c *countingVerifier) Ready() bool { return c.v.Ready() }

func newCloudflare(t *testing.T, iss *cfaccesstest.Issuer, opts CloudflareOptions) (*cloudflareAuth, *countingVerifier) {
	t.Helper()
	v, err := cfaccess.New(context.Background(), cfaccess.Config{
		TeamDomain: iss.URL(), Audiences: []string{iss.Audience()}, AllowInsecureLoopback: true,
		ServiceTokens: map[string]string{"ci.access": "ci-bot@svc.example"},
	})
	require.NoError(t, err)
	t.Cleanup(v.Close)
	cv := &countingVerifier{v: v}
	return Cloudflare(cv, opts).(*cloudflareAuth), cv
}

func request(header, cookie string) *http.Request {
	r := httptest.NewRequest("GET", "/v1/me", nil)
	if header != "" {
		r.Header.Set(HeaderAssertion, header)
	}
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
	}
	return r
}

func TestCloudflareTokenSources(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	a, _ := newCloudflare(t, iss, CloudflareOptions{CacheSize: -1})
	good := iss.UserToken("Alice@Example.com")
	other := iss.UserToken("bob@example.com")
	bad := iss.UserToken("mallory@example.com", cfaccesstest.WithAudience("another-app"))

	id, err := a.Authenticate(request(good, ""))
	require.NoError(t, err, "header")
	require.Equal(t, "alice@example.com", id.Email, "normalized")
	require.Equal(t, ModeCloudflare, id.Method)

	id, err = a.Authenticate(request("", good))
	require.NoError(t, err, "cookie when the header is absent")
	require.Equal(t, "alice@example.com", id.Email)

	id, err = a.Authenticate(request(good, other))
	require.NoError(t, err)
	require.Equal(t, "alice@example.com", id.Email, "the header wins over a different cookie")

	_, err = a.Authenticate(request(bad, good))
	require.ErrorIs(t, err, ErrUnauthenticated, "a bad header is not rescued by a good cookie")

	_, err = a.Authenticate(request("", ""))
	require.ErrorIs(t, err, ErrUnauthenticated)
}

func TestCloudflareServiceTokens(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	a, _ := newCloudflare(t, iss, CloudflareOptions{})
	id, err := a.Authenticate(request(iss.ServiceToken("ci.access"), ""))
	require.NoError(t, err)
	require.Equal(t, "ci-bot@svc.example", id.Email)
	require.Equal(t, "ci.access", id.Service)

	_, err = a.Authenticate(request(iss.ServiceToken("unknown.access"), ""))
	require.ErrorIs(t, err, ErrUnauthenticated)
}

func TestCloudflareCache(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	a, cv := newCloudflare(t, iss, CloudflareOptions{CacheTTL: time.Minute})
	now := time.Now()
	a.now = func() time.Time { return now }
	token := iss.UserToken("alice@example.com", cfaccesstest.WithExpiry(now.Add(30*time.Second)))

	for i := 0; i < 3; i++ {
		_, err := a.Authenticate(request(token, ""))
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, cv.n.Load(), "verified once, then served from the cache")

	// Never past exp (here before the TTL): the next use is verified again.
	now = now.Add(31 * time.Second)
	_, _ = a.Authenticate(request(token, "")) // the verifier's own clock decides the verdict
	require.EqualValues(t, 2, cv.n.Load())
	_, ok := a.cache.get(token, now)
	require.False(t, ok, "an entry never outlives the token's exp")

	// A rejected token is never cached: every attempt is verified.
	bad := iss.UserToken("alice@example.com", cfaccesstest.WithAudience("another-app"))
	for i := 0; i < 2; i++ {
		_, err := a.Authenticate(request(bad, ""))
		require.ErrorIs(t, err, ErrUnauthenticated)
	}
	require.EqualValues(t, 4, cv.n.Load())

	// The cache stays bounded.
	c := &tokenCache{max: 8, ttl: time.Minute, m: map[[32]byte]cachedIdentity{}}
	for i := 0; i < 100; i++ {
		c.put(string(rune('a'+i%26))+time.Duration(i).String(), Identity{Email: "x@y"}, now.Add(time.Hour), now)
		require.LessOrEqual(t, len(c.m), 8)
	}
}

func TestCloudflareNotReady(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	iss.SetOffline(true)
	token := iss.UserToken("alice@example.com")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := cfaccess.New(ctx, cfaccess.Config{TeamDomain: iss.URL(), Audiences: []string{iss.Audience()}, AllowInsecureLoopback: true})
	require.NoError(t, err)
	defer v.Close()
	a := Cloudflare(v, CloudflareOptions{})
	require.False(t, a.Ready())
	_, err = a.Authenticate(request(token, ""))
	require.ErrorIs(t, err, ErrNotReady)
	require.False(t, errors.Is(err, ErrUnauthenticated))
}

func TestTrustedHeader(t *testing.T) {
	t.Parallel()
	a, err := TrustedHeader([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	require.NoError(t, err)
	req := func(peer, email string, hdr map[string]string) *http.Request {
		r := httptest.NewRequest("GET", "/v1/me", nil)
		r.RemoteAddr = peer
		if email != "" {
			r.Header.Set(HeaderEmail, email)
		}
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		return r
	}
	id, err := a.Authenticate(req("10.1.2.3:5555", "Alice@Example.com", nil))
	require.NoError(t, err)
	require.Equal(t, "alice@example.com", id.Email)
	_, err = a.Authenticate(req("[::1]:5555", "alice@example.com", nil))
	require.NoError(t, err)

	for name, r := range map[string]*http.Request{
		"untrusted peer":              req("192.0.2.7:5555", "alice@example.com", nil),
		"spoofed X-Forwarded-For":     req("192.0.2.7:5555", "alice@example.com", map[string]string{"X-Forwarded-For": "10.0.0.1", "X-Real-Ip": "10.0.0.1"}),
		"trusted peer, no header":     req("10.1.2.3:5555", "", nil),
		"trusted peer, not an email":  req("10.1.2.3:5555", "alice", nil),
		"trusted peer, space in mail": req("10.1.2.3:5555", "al ice@example.com", nil),
		"v4-mapped untrusted":         req("[::ffff:192.0.2.7]:5555", "alice@example.com", nil),
	} {
		_, err := a.Authenticate(r)
		require.ErrorIs(t, err, ErrUnauthenticated, name)
	}
	_, err = TrustedHeader(nil)
	require.Error(t, err)
}

func TestDev(t *testing.T) {
	t.Parallel()
	a, err := Dev(" Dev@Example.com ")
	require.NoError(t, err)
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "localhost:8080"
	id, err := a.Authenticate(r)
	require.NoError(t, err)
	require.Equal(t, "dev@example.com", id.Email)
	r.Host = "rebind.attacker.example:8080" // DNS rebinding: the page's own name
	_, err = a.Authenticate(r)
	require.ErrorIs(t, err, ErrMisdirected)
	require.Equal(t, "misdirected", FailureClass(err))
	_, err = Dev("not an email")
	require.Error(t, err)
}

// TestLoopbackHost: the names dev mode answers to, with or without a
// port, and the look-alikes it refuses.
func TestLoopbackHost(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"localhost", "localhost:8080", "LOCALHOST:8080", "127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:8080"} {
		require.True(t, LoopbackHost(ok), ok)
	}
	for _, bad := range []string{
		"", "example.com", "example.com:8080", "localhost.", "localhost.:8080", "localhost.attacker.example",
		"127.0.0.1.nip.io", "127.0.0.2:8080", "0.0.0.0:8080", "::1", "[::1", "localhost:", "localhost:99999",
		"localhost:80:80", "[::ffff:127.0.0.1]:8080", "2130706433", "127.1:8080",
	} {
		require.False(t, LoopbackHost(bad), bad)
	}
}

// TestOneCredentialOnly: two identity headers, two assertion headers, or
// (when the cookie is the credential) two CF_Authorization cookies are
// refused: which one Header.Get or Cookie would take is the client's
// choice when a proxy appends rather than replaces. Positive controls:
// one of each passes, and the header still wins over two cookies.
func TestOneCredentialOnly(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	cf, _ := newCloudflare(t, iss, CloudflareOptions{CacheSize: -1})
	alice, mallory := iss.UserToken("alice@example.com"), iss.UserToken("mallory@example.com")

	r := request(alice, "")
	_, err := cf.Authenticate(r)
	require.NoError(t, err, "positive control")
	r.Header.Add(HeaderAssertion, mallory)
	_, err = cf.Authenticate(r)
	require.ErrorIs(t, err, ErrUnauthenticated, "two assertion headers")
	require.Equal(t, "ambiguous", FailureClass(err))

	r = request("", alice)
	_, err = cf.Authenticate(r)
	require.NoError(t, err, "positive control: one cookie")
	r.AddCookie(&http.Cookie{Name: CookieName, Value: mallory})
	_, err = cf.Authenticate(r)
	require.ErrorIs(t, err, ErrUnauthenticated, "two cookies")
	require.Equal(t, "ambiguous", FailureClass(err))
	r.Header.Set(HeaderAssertion, alice)
	id, err := cf.Authenticate(r)
	require.NoError(t, err, "the header wins; the cookies are not read")
	require.Equal(t, "alice@example.com", id.Email)

	th, err := TrustedHeader([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	require.NoError(t, err)
	r = httptest.NewRequest("GET", "/v1/me", nil)
	r.RemoteAddr = "10.1.2.3:5555"
	r.Header.Set(HeaderEmail, "alice@example.com")
	_, err = th.Authenticate(r)
	require.NoError(t, err, "positive control")
	r.Header.Add(HeaderEmail, "mallory@example.com")
	_, err = th.Authenticate(r)
	require.ErrorIs(t, err, ErrUnauthenticated, "two identity headers")
	require.Equal(t, "ambiguous", FailureClass(err))
}

// TestFailureClass: every way authentication fails has a label from a
// small fixed set (metrics count by it), never a value from the request.
func TestFailureClass(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	cf, _ := newCloudflare(t, iss, CloudflareOptions{CacheSize: -1})
	th, err := TrustedHeader([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	require.NoError(t, err)
	req := func(a Authenticator, peer, header, value string) error {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		if header != "" {
			r.Header.Set(header, value)
		}
		_, err := a.Authenticate(r)
		return err
	}
	for want, err := range map[string]error{
		"missing":        req(cf, "192.0.2.1:1", "", ""),
		"expired":        req(cf, "192.0.2.1:1", HeaderAssertion, iss.UserToken("a@x.example", cfaccesstest.WithExpiry(time.Now().Add(-time.Hour)))),
		"audience":       req(cf, "192.0.2.1:1", HeaderAssertion, iss.UserToken("a@x.example", cfaccesstest.WithAudience("other"))),
		"malformed":      req(cf, "192.0.2.1:1", HeaderAssertion, "not-a-token"),
		"bad_identity":   req(cf, "192.0.2.1:1", HeaderAssertion, iss.UserToken("not-an-email")),
		"untrusted_peer": req(th, "192.0.2.1:1", HeaderEmail, "a@x.example"),
		"not_ready":      ErrNotReady,
	} {
		require.Error(t, err, want)
		require.Equal(t, want, FailureClass(err), "%v", err)
	}
	require.Equal(t, "", FailureClass(nil))
	require.Equal(t, "other", FailureClass(errors.New("boom")))
}
