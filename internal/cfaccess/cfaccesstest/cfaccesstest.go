// Package cfaccesstest fakes Cloudflare Access for tests: an httptest
// server that publishes a team's signing keys at /cdn-cgi/access/certs and
// a minter for user and service tokens shaped like the real ones. Tests can
// rotate keys, take the key endpoint down and bring it back, and override
// any header or claim, including the hostile ones (alg none, HS256 keyed
// with the public key, jku/jwk/x5u/x5c, wrong aud, ...).
//
// NewLocalIssuer serves the same team without a test around it: the local
// Access emulator (cmd/accessemu) is an Issuer on a fixed loopback port.
//
// It does not import cfaccess, so any package's tests can use it:
//
//	iss := cfaccesstest.NewIssuer(t)
//	v, err := cfaccess.New(ctx, cfaccess.Config{
//		TeamDomain:            iss.URL(),
//		Audiences:             []string{iss.Audience()},
//		AllowInsecureLoopback: true,
//	})
//	token := iss.UserToken("ada@example.com")
package cfaccesstest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// CertsPath is where Cloudflare Access serves a team's signing keys.
const CertsPath = "/cdn-cgi/access/certs"

// DefaultTTL is the lifetime of minted tokens unless WithExpiry says
// otherwise.
const DefaultTTL = 10 * time.Minute

// Issuer is a fake Cloudflare Access team: its URL is both the team domain
// (the tokens' iss) and the host of the certs endpoint.
type Issuer struct {
	t   Reporter
	srv *httptest.Server // nil for a local issuer
	url string
	aud string

	hits    atomic.Int64
	offline atomic.Bool // answer 500
	drop    atomic.Bool // close the connection without an answer

	mu      sync.Mutex
	keys    []signingKey // published, oldest first
	current signingKey   // signs tokens
	ecKey   *ecdsa.PrivateKey
}

type signingKey struct {
	kid     string
	priv    *rsa.PrivateKey
	jwk     map[string]any // public JWK, rendered once
	certPEM string         // self-signed certificate, for public_cert(s)
}

// Reporter is where an Issuer reports what went wrong: a testing.TB in
// tests.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// NewIssuer starts a fake team with one signing key and a random AUD tag.
// The server is closed in t.Cleanup.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	i := newIssuer(t, randomHex(t, 32))
	i.srv = httptest.NewServer(i)
	i.url = i.srv.URL
	t.Cleanup(i.srv.Close)
	return i
}

// NewLocalIssuer is a team whose domain is url (where the caller serves
// the Issuer as an http.Handler), with the AUD tag aud and one signing
// key.
func NewLocalIssuer(r Reporter, url, aud string) *Issuer {
	i := newIssuer(r, aud)
	i.url = strings.TrimRight(url, "/")
	return i
}

func newIssuer(r Reporter, aud string) *Issuer {
	i := &Issuer{t: r, aud: aud}
	i.current = i.newKey()
	i.keys = []signingKey{i.current}
	return i
}

// URL is the team domain, e.g. "http://127.0.0.1:41235" (no trailing
// slash). Tokens carry it as iss.
func (i *Issuer) URL() string { return i.url }

// CertsURL is URL() + CertsPath.
func (i *Issuer) CertsURL() string { return i.url + CertsPath }

// ServeHTTP serves the certs endpoint (and 404 elsewhere), as the team
// domain does.
func (i *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) { i.serve(w, r) }

// Audience is the application AUD tag minted tokens carry by default.
func (i *Issuer) Audience() string { return i.aud }

// Hits counts every HTTP request the server has received, on any path.
func (i *Issuer) Hits() int64 { return i.hits.Load() }

// KeyID is the kid of the key that currently signs tokens.
func (i *Issuer) KeyID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.current.kid
}

// SigningKey returns the current kid and private key, for tests that build
// tokens with other tools.
func (i *Issuer) SigningKey() (string, *rsa.PrivateKey) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.current.kid, i.current.priv
}

// PublicKeyPEM is the current public key as a PKIX "PUBLIC KEY" PEM block:
// the HMAC secret of the classic RS256 -> HS256 confusion attack.
func (i *Issuer) PublicKeyPEM() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	return publicPEM(i.t, &i.current.priv.PublicKey)
}

// Rotate publishes a new key, makes it the signing key and returns its kid.
// Older keys stay published until Unpublish.
func (i *Issuer) Rotate() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	k := i.newKey()
	i.keys = append(i.keys, k)
	i.current = k
	return k.kid
}

// Unpublish removes the key kid from the certs response (it can still sign
// with WithKeyID if it is the current key). Unpublishing every key makes
// the endpoint answer {"keys":[]}.
func (i *Issuer) Unpublish(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	kept := i.keys[:0]
	for _, k := range i.keys {
		if k.kid != kid {
			kept = append(kept, k)
		}
	}
	i.keys = kept
}

// SetOffline makes the server answer 500 to everything (true) or serve
// normally again (false).
func (i *Issuer) SetOffline(offline bool) { i.offline.Store(offline) }

// SetDropConnections makes the server close each connection without an
// answer (a network error for the client), or serve normally again.
func (i *Issuer) SetDropConnections(drop bool) { i.drop.Store(drop) }

func (i *Issuer) serve(w http.ResponseWriter, r *http.Request) {
	i.hits.Add(1)
	if i.drop.Load() {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if i.offline.Load() {
		http.Error(w, "offline", http.StatusInternalServerError)
		return
	}
	if r.URL.Path != CertsPath || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(i.certsJSON())
}

// certsJSON renders the keys the way Cloudflare does: "keys" (a JWKS), plus
// "public_cert" (the current key's certificate) and "public_certs".
func (i *Issuer) certsJSON() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	type cert struct {
		KID  string `json:"kid"`
		Cert string `json:"cert"`
	}
	doc := struct {
		Keys        []map[string]any `json:"keys"`
		PublicCert  *cert            `json:"public_cert,omitempty"`
		PublicCerts []cert           `json:"public_certs"`
	}{Keys: []map[string]any{}, PublicCerts: []cert{}}
	for _, k := range i.keys {
		doc.Keys = append(doc.Keys, k.jwk)
		c := cert{KID: k.kid, Cert: k.certPEM}
		doc.PublicCerts = append(doc.PublicCerts, c)
		if k.kid == i.current.kid {
			doc.PublicCert = &c
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		// Not t.Fatal: this runs on the server's goroutine.
		i.t.Errorf("cfaccesstest: marshal certs: %v", err)
	}
	return b
}

// newKey runs on the test's goroutine (NewIssuer, Rotate), so it may fail
// the test; the server only reads what it prepared.
func (i *Issuer) newKey() signingKey {
	priv := NewRSAKey(i.t)
	kid := randomHex(i.t, 32)
	return signingKey{
		kid:     kid,
		priv:    priv,
		jwk:     PublicJWK(i.t, &priv.PublicKey, kid),
		certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: SelfSignedCert(i.t, priv)})),
	}
}

// UserToken mints a user token for email, shaped like Access's: aud (an
// array), email, sub, iss, iat, nbf, exp, type "app", identity_nonce,
// country; header alg RS256, kid, typ JWT.
func (i *Issuer) UserToken(email string, opts ...TokenOption) string {
	i.t.Helper()
	now := time.Now()
	claims := map[string]any{
		"aud":            []string{i.aud},
		"email":          email,
		"sub":            uuid.NewString(),
		"iss":            i.url,
		"iat":            now.Unix(),
		"nbf":            now.Unix(),
		"exp":            now.Add(DefaultTTL).Unix(),
		"type":           "app",
		"identity_nonce": randomHex(i.t, 8),
		"country":        "US",
	}
	return i.mint(claims, opts)
}

// ServiceToken mints a service token: common_name (the token's Client ID,
// e.g. "abc123.access"), an empty sub and no email.
func (i *Issuer) ServiceToken(commonName string, opts ...TokenOption) string {
	i.t.Helper()
	now := time.Now()
	claims := map[string]any{
		"aud":         []string{i.aud},
		"common_name": commonName,
		"sub":         "",
		"iss":         i.url,
		"iat":         now.Unix(),
		"nbf":         now.Unix(),
		"exp":         now.Add(DefaultTTL).Unix(),
		"type":        "app",
	}
	return i.mint(claims, opts)
}

// TokenOption changes a minted token.
type TokenOption func(*tokenSpec)

type tokenSpec struct {
	header map[string]any
	claims map[string]any
	alg    string // signing algorithm; header alg unless overridden
	rsaKey *rsa.PrivateKey
	secret []byte
}

// WithAlg signs with alg, one of RS256, RS384, PS256, ES256, HS256 or none
// (compared case-insensitively), and puts alg, exactly as given, in the
// header: WithAlg("nOnE") makes an unsigned token whose header says "nOnE".
// RS384 and PS256 use the issuer's RSA key; ES256 an EC key of its own;
// HS256 the public key PEM as secret unless WithHMACSecret.
func WithAlg(alg string) TokenOption {
	return func(s *tokenSpec) { s.alg = alg; s.header["alg"] = alg }
}

// WithKeyID sets the header kid.
func WithKeyID(kid string) TokenOption { return WithHeader("kid", kid) }

// WithHeader sets a header parameter to any JSON value (after WithAlg, it
// can make the header lie about the algorithm used).
func WithHeader(name string, value any) TokenOption {
	return func(s *tokenSpec) { s.header[name] = value }
}

// WithoutHeader removes a header parameter, e.g. "kid".
func WithoutHeader(name string) TokenOption {
	return func(s *tokenSpec) { delete(s.header, name) }
}

// WithClaim sets a claim to any JSON value.
func WithClaim(name string, value any) TokenOption {
	return func(s *tokenSpec) { s.claims[name] = value }
}

// WithoutClaim removes a claim.
func WithoutClaim(name string) TokenOption {
	return func(s *tokenSpec) { delete(s.claims, name) }
}

// WithAudience sets aud to the given tags (an array, as Access sends it).
func WithAudience(aud ...string) TokenOption { return WithClaim("aud", aud) }

// WithIssuer sets iss.
func WithIssuer(iss string) TokenOption { return WithClaim("iss", iss) }

// WithType sets the type claim ("app" by default; Access also has "org").
func WithType(typ string) TokenOption { return WithClaim("type", typ) }

// WithExpiry sets exp.
func WithExpiry(t time.Time) TokenOption { return WithClaim("exp", t.Unix()) }

// WithNotBefore sets nbf.
func WithNotBefore(t time.Time) TokenOption { return WithClaim("nbf", t.Unix()) }

// WithIssuedAt sets iat.
func WithIssuedAt(t time.Time) TokenOption { return WithClaim("iat", t.Unix()) }

// WithRSAKey signs with key instead of the issuer's (an attacker's key).
// The kid stays the issuer's unless WithKeyID.
func WithRSAKey(key *rsa.PrivateKey) TokenOption {
	return func(s *tokenSpec) { s.rsaKey = key }
}

// WithHMACSecret sets the HS256 secret.
func WithHMACSecret(secret []byte) TokenOption {
	return func(s *tokenSpec) { s.secret = secret }
}

// Token mints a token from exactly these claims (no defaults), for shapes
// the other constructors cannot express.
func (i *Issuer) Token(claims map[string]any, opts ...TokenOption) string {
	i.t.Helper()
	c := make(map[string]any, len(claims))
	for k, v := range claims {
		c[k] = v
	}
	return i.mint(c, opts)
}

func (i *Issuer) mint(claims map[string]any, opts []TokenOption) string {
	i.t.Helper()
	i.mu.Lock()
	cur := i.current
	i.mu.Unlock()

	s := &tokenSpec{
		header: map[string]any{"alg": "RS256", "kid": cur.kid, "typ": "JWT"},
		claims: claims,
		alg:    "RS256",
		rsaKey: cur.priv,
	}
	for _, o := range opts {
		o(s)
	}
	if s.secret == nil {
		s.secret = publicPEM(i.t, &cur.priv.PublicKey)
	}

	signingInput := segment(i.t, s.header) + "." + segment(i.t, s.claims)
	var key any
	var alg jwa.SignatureAlgorithm
	switch strings.ToUpper(s.alg) {
	case "NONE":
		return signingInput + "."
	case "RS256":
		alg, key = jwa.RS256, s.rsaKey
	case "RS384":
		alg, key = jwa.RS384, s.rsaKey
	case "PS256":
		alg, key = jwa.PS256, s.rsaKey
	case "ES256":
		alg, key = jwa.ES256, i.ecdsaKey()
	case "HS256":
		alg, key = jwa.HS256, s.secret
	default:
		i.t.Fatalf("cfaccesstest: unsupported signing alg %q", s.alg)
	}
	signer, err := jws.NewSigner(alg)
	if err != nil {
		i.t.Fatalf("cfaccesstest: signer %s: %v", alg, err)
	}
	sig, err := signer.Sign([]byte(signingInput), key)
	if err != nil {
		i.t.Fatalf("cfaccesstest: sign %s: %v", alg, err)
	}
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (i *Issuer) ecdsaKey() *ecdsa.PrivateKey {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.ecKey == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			i.t.Fatalf("cfaccesstest: generate EC key: %v", err)
		}
		i.ecKey = k
	}
	return i.ecKey
}

func segment(t Reporter, v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("cfaccesstest: marshal: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// NewRSAKey generates a 2048-bit RSA key (for an attacker, or anything
// else a test signs with).
func NewRSAKey(t Reporter) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("cfaccesstest: generate RSA key: %v", err)
	}
	return k
}

// PublicJWK renders pub as a JWK object with kid, alg RS256 and use sig,
// e.g. for a "jwk" header carrying an attacker's key.
func PublicJWK(t Reporter, pub *rsa.PublicKey, kid string) map[string]any {
	t.Helper()
	k, err := jwk.FromRaw(pub)
	if err != nil {
		t.Fatalf("cfaccesstest: jwk from key: %v", err)
	}
	for name, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: jwa.RS256, jwk.KeyUsageKey: jwk.ForSignature} {
		if err := k.Set(name, v); err != nil {
			t.Fatalf("cfaccesstest: jwk set %s: %v", name, err)
		}
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatalf("cfaccesstest: marshal jwk: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("cfaccesstest: unmarshal jwk: %v", err)
	}
	return m
}

// SelfSignedCert returns a DER certificate for key (for "x5c" headers and
// the certs response's public_cert).
func SelfSignedCert(t Reporter, key *rsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "cfaccesstest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), crypto.Signer(key))
	if err != nil {
		t.Fatalf("cfaccesstest: create certificate: %v", err)
	}
	return der
}

func publicPEM(t Reporter, pub *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("cfaccesstest: marshal public key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func randomHex(t Reporter, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("cfaccesstest: random: %v", err)
	}
	return hex.EncodeToString(b)
}
