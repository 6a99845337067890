package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/pgtenant/pgtenant/internal/cfaccess"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
)

// Where Cloudflare Access puts the token and the authenticated email.
const (
	HeaderAssertion = "Cf-Access-Jwt-Assertion"
	CookieName      = "CF_Authorization"
	HeaderEmail     = "Cf-Access-Authenticated-User-Email"
)

// Verifier is what the cloudflare mode needs of internal/cfaccess.
type Verifier interface {
	Verify(ctx context.Context, token string) (cfaccess.Claims, error)
	Ready() bool
}

// cloudflareAuth verifies the Access JWT of every request.
type cloudflareAuth struct {
	v     Verifier
	cache *tokenCache
	now   func() time.Time
}

// CloudflareOptions tunes the cloudflare mode.
type CloudflareOptions struct {
	// CacheSize bounds the verified-token cache (default 10000 entries; a
	// negative value disables the cache).
	CacheSize int
	// CacheTTL bounds how long a verified token is served from the cache
	// (default 1m), never past the token's exp.
	CacheTTL time.Duration
}

// Cloudflare returns the cloudflare-mode authenticator over v.
//
// The token comes from the Cf-Access-Jwt-Assertion header, which Access
// adds to every request it forwards; the CF_Authorization cookie is read
// only when that header is absent (a browser talking to the origin
// directly). When both are present the header wins, whatever the cookie
// says: a cookie set by another site on a shared parent domain cannot
// override the token Access attached.
func Cloudflare(v Verifier, opts CloudflareOptions) Authenticator {
	if opts.CacheSize == 0 {
		opts.CacheSize = 10000
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = time.Minute
	}
	a := &cloudflareAuth{v: v, now: time.Now}
	if opts.CacheSize > 0 {
		a.cache = &tokenCache{max: opts.CacheSize, ttl: opts.CacheTTL, m: map[[32]byte]cachedIdentity{}}
	}
	return a
}

func (a *cloudflareAuth) Mode() Mode  { return ModeCloudflare }
func (a *cloudflareAuth) Ready() bool { return a.v.Ready() }

func (a *cloudflareAuth) Authenticate(r *http.Request) (Identity, error) {
	// Exactly one credential, or none accepted: with two, which one counts
	// depends on who reads first (Header.Get takes the first), and a proxy
	// or client that adds rather than replaces chooses the identity.
	var token string
	switch tokens := r.Header.Values(HeaderAssertion); {
	case len(tokens) > 1:
		return Identity{}, fmt.Errorf("%w: %w: %d %s headers", ErrUnauthenticated, errAmbiguous, len(tokens), HeaderAssertion)
	case len(tokens) == 1:
		token = tokens[0]
	default:
		// Only when the header is absent: a cookie tossed by another site
		// of a shared parent domain cannot block the header's token.
		switch cookies := r.CookiesNamed(CookieName); {
		case len(cookies) > 1:
			return Identity{}, fmt.Errorf("%w: %w: %d %s cookies", ErrUnauthenticated, errAmbiguous, len(cookies), CookieName)
		case len(cookies) == 1:
			token = cookies[0].Value
		}
	}
	if token == "" {
		return Identity{}, fmt.Errorf("%w: %w: no Access token (header %s or cookie %s)", ErrUnauthenticated, ErrNoCredential, HeaderAssertion, CookieName)
	}
	now := a.now()
	if a.cache != nil {
		if id, ok := a.cache.get(token, now); ok {
			return id, nil
		}
	}
	claims, err := a.v.Verify(r.Context(), token)
	switch {
	case errors.Is(err, cfaccess.ErrNotReady):
		return Identity{}, fmt.Errorf("%w: %w", ErrNotReady, err)
	case err != nil:
		return Identity{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	id := Identity{Email: rules.NormalizeEmail(claims.Email), Method: ModeCloudflare}
	if claims.IsService() {
		// The mapped service identity names a user row (an email), so
		// service tokens get roles the same way people do: from the
		// database.
		id = Identity{Email: rules.NormalizeEmail(claims.Service), Service: claims.CommonName, Method: ModeCloudflare}
	}
	if !rules.ValidEmail(id.Email) {
		return Identity{}, fmt.Errorf("%w: %w: token identity is not an email address", ErrUnauthenticated, errBadIdentity)
	}
	if a.cache != nil {
		a.cache.put(token, id, claims.Expiry, now)
	}
	return id, nil
}

// tokenCache remembers verified tokens, keyed by a hash of the exact token,
// until min(exp, verification time + TTL). It only saves the signature
// check: the identity is still resolved against the database (user,
// membership, role) on every request, so revocation there is immediate.
type tokenCache struct {
	mu  sync.Mutex
	max int
	ttl time.Duration
	m   map[[32]byte]cachedIdentity
}

type cachedIdentity struct {
	id      Identity
	expires time.Time
}

func (c *tokenCache) get(token string, now time.Time) (Identity, bool) {
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	e, ok := c.m[k]
	if ok && !now.Before(e.expires) {
		delete(c.m, k)
		ok = false
	}
	c.mu.Unlock()
	return e.id, ok
}

func (c *tokenCache) put(token string, id Identity, exp, now time.Time) {
	expires := now.Add(c.ttl)
	if exp.Before(expires) {
		expires = exp
	}
	if !now.Before(expires) {
		return
	}
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for key, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, key)
			}
		}
		// Still full: drop an arbitrary quarter (map order is random).
		for key := range c.m {
			if len(c.m) < c.max*3/4 {
				break
			}
			delete(c.m, key)
		}
	}
	c.m[k] = cachedIdentity{id: id, expires: expires}
}

// trustedHeaderAuth takes the email Cloudflare's proxy puts in
// Cf-Access-Authenticated-User-Email, from trusted peers only.
type trustedHeaderAuth struct {
	proxies []netip.Prefix
}

// TrustedHeader returns the trusted-header authenticator. The header is
// believed only when the TCP peer (never X-Forwarded-For, which a client
// writes) is inside one of proxies: anyone else could send it.
func TrustedHeader(proxies []netip.Prefix) (Authenticator, error) {
	if len(proxies) == 0 {
		return nil, errors.New("auth: TRUSTED_PROXY_CIDRS is required with AUTH_MODE=trusted-header")
	}
	return &trustedHeaderAuth{proxies: proxies}, nil
}

func (t *trustedHeaderAuth) Mode() Mode  { return ModeTrustedHeader }
func (t *trustedHeaderAuth) Ready() bool { return true }

func (t *trustedHeaderAuth) Authenticate(r *http.Request) (Identity, error) {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w: unparseable peer address", ErrUnauthenticated, errUntrustedPeer)
	}
	addr := peer.Addr().Unmap()
	trusted := false
	for _, p := range t.proxies {
		if p.Contains(addr) {
			trusted = true
			break
		}
	}
	if !trusted {
		return Identity{}, fmt.Errorf("%w: %w: peer %s is not a trusted proxy", ErrUnauthenticated, errUntrustedPeer, addr)
	}
	emails := r.Header.Values(HeaderEmail)
	if len(emails) > 1 {
		// A proxy that appends rather than replaces would let the client
		// choose: Header.Get takes the first, the client's.
		return Identity{}, fmt.Errorf("%w: %w: %d %s headers", ErrUnauthenticated, errAmbiguous, len(emails), HeaderEmail)
	}
	email := rules.NormalizeEmail(r.Header.Get(HeaderEmail))
	if !rules.ValidEmail(email) {
		return Identity{}, fmt.Errorf("%w: %w: missing or malformed %s", ErrUnauthenticated, errBadIdentity, HeaderEmail)
	}
	return Identity{Email: email, Method: ModeTrustedHeader}, nil
}
