package cfaccess

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
)

func jwkJSON(t *testing.T, raw any, fields map[string]any) map[string]any {
	t.Helper()
	k, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	for name, v := range fields {
		require.NoError(t, k.Set(name, v))
	}
	b, err := json.Marshal(k)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func TestParseKeysKeepsOnlyRS256SigningKeys(t *testing.T) {
	t.Parallel()
	good := cfaccesstest.NewRSAKey(t)
	other := cfaccesstest.NewRSAKey(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)

	doc := map[string]any{
		"keys": []any{
			jwkJSON(t, &good.PublicKey, map[string]any{jwk.KeyIDKey: "good", jwk.AlgorithmKey: jwa.RS256, jwk.KeyUsageKey: "sig"}),
			jwkJSON(t, &other.PublicKey, map[string]any{jwk.KeyIDKey: "no-alg-no-use"}),
			jwkJSON(t, &other.PublicKey, map[string]any{jwk.KeyIDKey: "rs384", jwk.AlgorithmKey: jwa.RS384}),
			jwkJSON(t, &other.PublicKey, map[string]any{jwk.KeyIDKey: "enc", jwk.KeyUsageKey: "enc"}),
			jwkJSON(t, &other.PublicKey, nil), // no kid
			jwkJSON(t, &ec.PublicKey, map[string]any{jwk.KeyIDKey: "ec"}),
			jwkJSON(t, &weak.PublicKey, map[string]any{jwk.KeyIDKey: "weak"}),
			jwkJSON(t, other, map[string]any{jwk.KeyIDKey: "private"}),
			jwkJSON(t, &other.PublicKey, map[string]any{jwk.KeyIDKey: "good"}), // duplicate kid
			map[string]any{"kty": "nonsense", "kid": "unparseable"},
		},
		"public_cert":  map[string]any{"kid": "good", "cert": "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"},
		"public_certs": []any{},
	}
	body, err := json.Marshal(doc)
	require.NoError(t, err)

	ks, err := parseKeys(body)
	require.NoError(t, err)
	require.Equal(t, []string{"good", "no-alg-no-use"}, ks.kids())
	require.Equal(t, good.PublicKey.N, ks.byKID["good"].N, "the first key under a duplicated kid wins")
}

func TestParseKeysFailsWithoutUsableKeys(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"empty set":  `{"keys":[]}`,
		"not JSON":   `<html>captive portal</html>`,
		"no keys":    `{}`,
		"only weird": `{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"hmac"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := parseKeys([]byte(body))
			require.Error(t, err)
		})
	}
}

func TestFetchKeysBoundsTheResponse(t *testing.T) {
	t.Parallel()
	// The transport answers itself; nothing leaves the process.
	huge := hugeBodyClient(maxJWKSBytes + 10)
	_, err := fetchKeys(t.Context(), huge, "https://acme.cloudflareaccess.com/cdn-cgi/access/certs")
	require.ErrorContains(t, err, "larger than")
}

// hugeBodyClient answers every request with a 200 of about n bytes.
func hugeBodyClient(n int) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: http.StatusOK,
			Status:     "200 OK",
			Body:       io.NopCloser(strings.NewReader(`{"keys":[` + strings.Repeat(" ", n) + `]}`)),
			Header:     http.Header{},
			Request:    r,
		}, nil
	})}
}
