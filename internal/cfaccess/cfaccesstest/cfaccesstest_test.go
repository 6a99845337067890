package cfaccesstest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
)

func getCerts(t *testing.T, iss *cfaccesstest.Issuer) (int, []byte) {
	t.Helper()
	resp, err := http.Get(iss.CertsURL())
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

func publishedSet(t *testing.T, iss *cfaccesstest.Issuer) jwk.Set {
	t.Helper()
	status, body := getCerts(t, iss)
	require.Equal(t, http.StatusOK, status)
	set, err := jwk.Parse(body)
	require.NoError(t, err)
	return set
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

// The minter is hand-assembled; jwx's own parser must accept its default
// tokens, so the verifier's tests are not testing against a private dialect.
func TestTokensVerifyWithJWX(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	set := publishedSet(t, iss)

	tok, err := jwt.ParseString(iss.UserToken("ada@example.com"),
		jwt.WithKeySet(set), jwt.WithIssuer(iss.URL()), jwt.WithAudience(iss.Audience()))
	require.NoError(t, err)
	email, _ := tok.Get("email")
	require.Equal(t, "ada@example.com", email)
	typ, _ := tok.Get("type")
	require.Equal(t, "app", typ)
	require.NotEmpty(t, tok.Subject())
	require.WithinDuration(t, time.Now().Add(cfaccesstest.DefaultTTL), tok.Expiration(), 5*time.Second)

	tok, err = jwt.ParseString(iss.ServiceToken("abc.access"),
		jwt.WithKeySet(set), jwt.WithIssuer(iss.URL()), jwt.WithAudience(iss.Audience()))
	require.NoError(t, err)
	cn, _ := tok.Get("common_name")
	require.Equal(t, "abc.access", cn)
	require.Empty(t, tok.Subject())
	_, hasEmail := tok.Get("email")
	require.False(t, hasEmail)
}

func TestCertsShape(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	_, body := getCerts(t, iss)
	var doc struct {
		Keys       []map[string]any `json:"keys"`
		PublicCert struct {
			KID  string `json:"kid"`
			Cert string `json:"cert"`
		} `json:"public_cert"`
		PublicCerts []map[string]any `json:"public_certs"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	require.Len(t, doc.Keys, 1)
	require.Equal(t, iss.KeyID(), doc.Keys[0]["kid"])
	require.Equal(t, "RSA", doc.Keys[0]["kty"])
	require.Equal(t, "RS256", doc.Keys[0]["alg"])
	require.Equal(t, iss.KeyID(), doc.PublicCert.KID)
	require.Contains(t, doc.PublicCert.Cert, "BEGIN CERTIFICATE")
	require.Len(t, doc.PublicCerts, 1)
}

func TestRotateAndUnpublish(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	first := iss.KeyID()
	second := iss.Rotate()
	require.NotEqual(t, first, second)
	require.Equal(t, second, iss.KeyID())

	set := publishedSet(t, iss)
	_, ok := set.LookupKeyID(first)
	require.True(t, ok)
	_, ok = set.LookupKeyID(second)
	require.True(t, ok)

	iss.Unpublish(first)
	set = publishedSet(t, iss)
	require.Equal(t, 1, set.Len())
	_, ok = set.LookupKeyID(first)
	require.False(t, ok)
}

func TestOfflineDropAndHits(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	require.Zero(t, iss.Hits())

	iss.SetOffline(true)
	status, _ := getCerts(t, iss)
	require.Equal(t, http.StatusInternalServerError, status)
	require.EqualValues(t, 1, iss.Hits())
	iss.SetOffline(false)

	// net/http may retry a GET once when a connection dies before the
	// answer, so a dropped request counts one or two hits.
	iss.SetDropConnections(true)
	_, err := http.Get(iss.CertsURL())
	require.Error(t, err)
	require.Greater(t, iss.Hits(), int64(1))
	iss.SetDropConnections(false)

	hits := iss.Hits()
	status, _ = getCerts(t, iss)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, hits+1, iss.Hits())

	resp, err := http.Get(iss.URL() + "/anything-else")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, hits+2, iss.Hits(), "every path counts")
}

func TestMintingOptions(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)

	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		tok := iss.UserToken("a@example.com", cfaccesstest.WithAlg(alg))
		parts := strings.Split(tok, ".")
		require.Len(t, parts, 3)
		require.Empty(t, parts[2], "alg %s must be unsigned", alg)
		require.Equal(t, alg, decodeSegment(t, parts[0])["alg"])
	}

	for _, alg := range []string{"RS256", "RS384", "PS256", "ES256", "HS256"} {
		tok := iss.UserToken("a@example.com", cfaccesstest.WithAlg(alg))
		parts := strings.Split(tok, ".")
		require.Len(t, parts, 3)
		require.NotEmpty(t, parts[2])
		require.Equal(t, alg, decodeSegment(t, parts[0])["alg"])
	}

	// HS256 defaults to the public key PEM as secret: jwx accepts it when
	// told to, which is exactly the confusion a verifier must refuse.
	hs := iss.UserToken("a@example.com", cfaccesstest.WithAlg("HS256"))
	_, err := jwt.ParseString(hs, jwt.WithKey(jwa.HS256, iss.PublicKeyPEM()), jwt.WithValidate(false))
	require.NoError(t, err)

	attacker := cfaccesstest.NewRSAKey(t)
	tok := iss.UserToken("a@example.com",
		cfaccesstest.WithRSAKey(attacker),
		cfaccesstest.WithKeyID("k1"),
		cfaccesstest.WithHeader("jku", "https://evil.example/jwks"),
		cfaccesstest.WithHeader("jwk", cfaccesstest.PublicJWK(t, &attacker.PublicKey, "k1")),
		cfaccesstest.WithoutHeader("typ"),
		cfaccesstest.WithAudience("x", "y"),
		cfaccesstest.WithIssuer("https://other"),
		cfaccesstest.WithType("org"),
		cfaccesstest.WithoutClaim("country"),
		cfaccesstest.WithClaim("extra", 1),
	)
	parts := strings.Split(tok, ".")
	h := decodeSegment(t, parts[0])
	require.Equal(t, "k1", h["kid"])
	require.Equal(t, "https://evil.example/jwks", h["jku"])
	require.Contains(t, h, "jwk")
	require.NotContains(t, h, "typ")
	c := decodeSegment(t, parts[1])
	require.Equal(t, []any{"x", "y"}, c["aud"])
	require.Equal(t, "https://other", c["iss"])
	require.Equal(t, "org", c["type"])
	require.NotContains(t, c, "country")
	require.EqualValues(t, 1, c["extra"])

	// Signed by the attacker's key: it verifies with that key only.
	ak, err := jwk.FromRaw(&attacker.PublicKey)
	require.NoError(t, err)
	_, err = jwt.ParseString(tok, jwt.WithKey(jwa.RS256, ak), jwt.WithValidate(false))
	require.NoError(t, err)

	raw := iss.Token(map[string]any{"only": "this"}, cfaccesstest.WithoutHeader("kid"))
	require.Equal(t, map[string]any{"only": "this"}, decodeSegment(t, strings.Split(raw, ".")[1]))
}
