package cfaccess

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
)

const testEmail = "ada@example.com"

func TestVerifyRejects(t *testing.T) {
	t.Parallel()

	b := setup(t)
	iss := b.iss
	// The attacker runs its own "team": a key server whose hit counter
	// proves that no header made us fetch from it.
	attacker := cfaccesstest.NewIssuer(t)
	attackerKID, attackerKey := attacker.SigningKey()
	attackerJWK := cfaccesstest.PublicJWK(t, &attackerKey.PublicKey, attackerKID)
	attackerX5C := []string{base64.StdEncoding.EncodeToString(cfaccesstest.SelfSignedCert(t, attackerKey))}
	now := time.Now()

	// attackerToken is signed by the attacker's key but otherwise aimed at
	// our team and application.
	attackerToken := func(opts ...cfaccesstest.TokenOption) string {
		return attacker.UserToken(testEmail, append([]cfaccesstest.TokenOption{
			cfaccesstest.WithIssuer(iss.URL()), cfaccesstest.WithAudience(iss.Audience()),
		}, opts...)...)
	}
	valid := iss.UserToken(testEmail)
	validParts := strings.Split(valid, ".")
	other := iss.UserToken("mallory@example.com")
	otherParts := strings.Split(other, ".")

	tests := []struct {
		name  string
		token string
		want  error
	}{
		// Algorithm confusion: the header must not choose the algorithm.
		{"alg none without signature", iss.UserToken(testEmail, cfaccesstest.WithAlg("none")), errMalformed},
		{"alg None without signature", iss.UserToken(testEmail, cfaccesstest.WithAlg("None")), errMalformed},
		{"alg NONE without signature", iss.UserToken(testEmail, cfaccesstest.WithAlg("NONE")), errMalformed},
		{"alg nOnE without signature", iss.UserToken(testEmail, cfaccesstest.WithAlg("nOnE")), errMalformed},
		{"alg none with a signature", iss.UserToken(testEmail, cfaccesstest.WithHeader("alg", "none")), errAlgorithm},
		{"alg None with a signature", iss.UserToken(testEmail, cfaccesstest.WithHeader("alg", "None")), errAlgorithm},
		{"alg NONE with a signature", iss.UserToken(testEmail, cfaccesstest.WithHeader("alg", "NONE")), errAlgorithm},
		{"alg nOnE with a signature", iss.UserToken(testEmail, cfaccesstest.WithHeader("alg", "nOnE")), errAlgorithm},
		{"alg rs256 lower case", iss.UserToken(testEmail, cfaccesstest.WithHeader("alg", "rs256")), errAlgorithm},
		{"alg missing", iss.UserToken(testEmail, cfaccesstest.WithoutHeader("alg")), errAlgorithm},
		{"alg not a string", iss.UserToken(testEmail, cfaccesstest.WithHeader("alg", 256)), errAlgorithm},
		{"HS256 keyed with the public key PEM", iss.UserToken(testEmail, cfaccesstest.WithAlg("HS256")), errAlgorithm},
		{"HS256 keyed with the public key, header claims RS256", iss.UserToken(testEmail, cfaccesstest.WithAlg("HS256"), cfaccesstest.WithHeader("alg", "RS256")), errSignature},
		{"RS384", iss.UserToken(testEmail, cfaccesstest.WithAlg("RS384")), errAlgorithm},
		{"RS384 signature, header claims RS256", iss.UserToken(testEmail, cfaccesstest.WithAlg("RS384"), cfaccesstest.WithHeader("alg", "RS256")), errSignature},
		{"PS256", iss.UserToken(testEmail, cfaccesstest.WithAlg("PS256")), errAlgorithm},
		{"ES256", iss.UserToken(testEmail, cfaccesstest.WithAlg("ES256")), errAlgorithm},

		// Key selection: by kid, from our set, nothing else.
		{"missing kid", iss.UserToken(testEmail, cfaccesstest.WithoutHeader("kid")), errMissingKID},
		{"empty kid", iss.UserToken(testEmail, cfaccesstest.WithKeyID("")), errMissingKID},
		{"kid not a string", iss.UserToken(testEmail, cfaccesstest.WithHeader("kid", 7)), errHeader},
		{"unknown kid", iss.UserToken(testEmail, cfaccesstest.WithKeyID("no-such-key")), errUnknownKID},
		{"kid with a path", iss.UserToken(testEmail, cfaccesstest.WithKeyID("../../etc/passwd")), errUnknownKID},
		{"kid with SQL", iss.UserToken(testEmail, cfaccesstest.WithKeyID("' OR 1=1 --")), errUnknownKID},
		{"kid with a NUL and a URL", iss.UserToken(testEmail, cfaccesstest.WithKeyID("\x00http://169.254.169.254/")), errUnknownKID},
		{"attacker key in jwk header, attacker kid", attackerToken(cfaccesstest.WithHeader("jwk", attackerJWK)), errUnknownKID},
		{"attacker key in jwk header, our kid", attackerToken(cfaccesstest.WithKeyID(iss.KeyID()), cfaccesstest.WithHeader("jwk", attackerJWK)), errSignature},
		{"jku to attacker, attacker kid", attackerToken(cfaccesstest.WithHeader("jku", attacker.CertsURL())), errUnknownKID},
		{"jku to attacker, our kid", attackerToken(cfaccesstest.WithKeyID(iss.KeyID()), cfaccesstest.WithHeader("jku", attacker.CertsURL())), errSignature},
		{"x5u to attacker, our kid", attackerToken(cfaccesstest.WithKeyID(iss.KeyID()), cfaccesstest.WithHeader("x5u", attacker.CertsURL())), errSignature},
		{"x5c with attacker cert, our kid", attackerToken(cfaccesstest.WithKeyID(iss.KeyID()), cfaccesstest.WithHeader("x5c", attackerX5C)), errSignature},
		{"attacker key, our kid, no extra header", iss.UserToken(testEmail, cfaccesstest.WithRSAKey(attackerKey)), errSignature},
		{"payload swapped from another token", validParts[0] + "." + otherParts[1] + "." + validParts[2], errSignature},
		{"signature truncated", valid[:len(valid)-4], errSignature},
		{"crit header", iss.UserToken(testEmail, cfaccesstest.WithHeader("crit", []string{"exp"})), errHeader},
		{"b64 false header", iss.UserToken(testEmail, cfaccesstest.WithHeader("b64", false)), errHeader},

		// Audience: the only thing binding a token to this application.
		{"wrong aud", iss.UserToken(testEmail, cfaccesstest.WithAudience("not-our-app")), errAudience},
		{"token for another app on the same account keys", iss.UserToken(testEmail, cfaccesstest.WithAudience(strings.Repeat("ab", 32))), errAudience},
		{"missing aud", iss.UserToken(testEmail, cfaccesstest.WithoutClaim("aud")), errAudience},
		{"empty aud array", iss.UserToken(testEmail, cfaccesstest.WithAudience()), errAudience},
		{"aud of the wrong type", iss.UserToken(testEmail, cfaccesstest.WithClaim("aud", 42)), errClaims},

		// Issuer.
		{"wrong iss", iss.UserToken(testEmail, cfaccesstest.WithIssuer("https://evil.cloudflareaccess.com")), errIssuer},
		{"iss with trailing slash", iss.UserToken(testEmail, cfaccesstest.WithIssuer(iss.URL()+"/")), errIssuer},
		{"missing iss", iss.UserToken(testEmail, cfaccesstest.WithoutClaim("iss")), errIssuer},

		// Time.
		{"expired", iss.UserToken(testEmail, cfaccesstest.WithExpiry(now.Add(-2*time.Minute))), errExpired},
		{"expired just past skew", iss.UserToken(testEmail, cfaccesstest.WithExpiry(now.Add(-31*time.Second))), errExpired},
		{"missing exp", iss.UserToken(testEmail, cfaccesstest.WithoutClaim("exp")), errMissingExp},
		{"exp zero", iss.UserToken(testEmail, cfaccesstest.WithClaim("exp", 0)), errClaims},
		{"exp negative", iss.UserToken(testEmail, cfaccesstest.WithClaim("exp", -1)), errClaims},
		{"exp as a string", iss.UserToken(testEmail, cfaccesstest.WithClaim("exp", "9999999999")), errClaims},
		{"nbf in the future beyond skew", iss.UserToken(testEmail, cfaccesstest.WithNotBefore(now.Add(2*time.Minute))), errNotYetValid},
		{"iat in the future beyond skew", iss.UserToken(testEmail, cfaccesstest.WithIssuedAt(now.Add(2*time.Minute))), errIssuedInFuture},

		// Token type and identity.
		{"type org", iss.UserToken(testEmail, cfaccesstest.WithType("org")), errType},
		{"type missing", iss.UserToken(testEmail, cfaccesstest.WithoutClaim("type")), errType},
		{"type App", iss.UserToken(testEmail, cfaccesstest.WithType("App")), errType},
		{"unmapped service token", iss.ServiceToken("0000aaaa.access"), errUnmappedService},
		{"service token that also has an email", iss.ServiceToken(testServiceCN, cfaccesstest.WithClaim("email", testEmail)), errIdentity},
		{"user token without email", iss.UserToken(testEmail, cfaccesstest.WithoutClaim("email")), errIdentity},
		{"user token with empty email", iss.UserToken(""), errIdentity},
		{"email of the wrong type", iss.UserToken(testEmail, cfaccesstest.WithClaim("email", []string{testEmail})), errClaims},

		// Shape.
		{"empty token", "", errMalformed},
		{"2-part token", validParts[0] + "." + validParts[1], errMalformed},
		{"4-part token", valid + "." + validParts[2], errMalformed},
		{"5-part token (JWE shape)", valid + ".a.b", errMalformed},
		{"only dots", "..", errMalformed},
		{"empty header segment", "." + validParts[1] + "." + validParts[2], errMalformed},
		{"base64 padding", validParts[0] + "=." + validParts[1] + "." + validParts[2], errMalformed},
		{"white space", " " + valid, errMalformed},
		{"JWS JSON serialization", `{"payload":"` + validParts[1] + `","protected":"` + validParts[0] + `","signature":"` + validParts[2] + `"}`, errMalformed},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("hello")) + "." + validParts[1] + "." + validParts[2], errMalformed},
		{"header a JSON array", base64.RawURLEncoding.EncodeToString([]byte(`["RS256"]`)) + "." + validParts[1] + "." + validParts[2], errMalformed},
		{"oversized token", iss.UserToken(testEmail, cfaccesstest.WithClaim("pad", strings.Repeat("x", DefaultMaxTokenBytes))), errTooLarge},
	}

	t.Run("cases", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				claims, err := b.v.Verify(context.Background(), tc.token)
				require.ErrorIs(t, err, ErrInvalidToken)
				require.ErrorIs(t, err, tc.want, "reason: %v", err)
				require.NotErrorIs(t, err, ErrNotReady)
				require.Zero(t, claims)
				requireNoTokenInError(t, err, tc.token)
			})
		}
	})

	// No header ever made us talk to the attacker's server.
	require.Zero(t, attacker.Hits(), "the verifier fetched from a URL named in a token")
}

func TestVerifyAccepts(t *testing.T) {
	t.Parallel()

	b := setup(t, func(c *Config) {
		c.Audiences = append(c.Audiences, "second-app-aud")
	})
	iss := b.iss
	attacker := cfaccesstest.NewIssuer(t)
	_, attackerKey := attacker.SigningKey()
	now := time.Now()

	tests := []struct {
		name  string
		token string
		check func(t *testing.T, c Claims)
	}{
		{"user token", iss.UserToken(testEmail), func(t *testing.T, c Claims) {
			require.Equal(t, testEmail, c.Email)
			require.NotEmpty(t, c.Subject)
			require.Empty(t, c.Service)
			require.Empty(t, c.CommonName)
			require.False(t, c.IsService())
			require.Equal(t, testEmail, c.Identity())
			require.Equal(t, []string{iss.Audience()}, c.Audience)
			require.WithinDuration(t, now.Add(cfaccesstest.DefaultTTL), c.Expiry, 5*time.Second)
			require.WithinDuration(t, now, c.IssuedAt, 5*time.Second)
		}},
		{"email kept as in the token", iss.UserToken("Ada.Lovelace@Example.COM"), func(t *testing.T, c Claims) {
			require.Equal(t, "Ada.Lovelace@Example.COM", c.Email)
		}},
		{"mapped service token", iss.ServiceToken(testServiceCN), func(t *testing.T, c Claims) {
			require.Equal(t, testServiceName, c.Service)
			require.Equal(t, testServiceCN, c.CommonName)
			require.Empty(t, c.Email)
			require.Empty(t, c.Subject)
			require.True(t, c.IsService())
			require.Equal(t, "service:"+testServiceName, c.Identity())
		}},
		{"nbf 20s ahead within 30s skew", iss.UserToken(testEmail, cfaccesstest.WithNotBefore(now.Add(20*time.Second))), nil},
		{"iat 20s ahead within 30s skew", iss.UserToken(testEmail, cfaccesstest.WithIssuedAt(now.Add(20*time.Second))), nil},
		{"exp 20s ago within 30s skew", iss.UserToken(testEmail, cfaccesstest.WithExpiry(now.Add(-20*time.Second))), nil},
		{"no nbf and no iat", iss.UserToken(testEmail, cfaccesstest.WithoutClaim("nbf"), cfaccesstest.WithoutClaim("iat")), nil},
		{"fractional exp", iss.UserToken(testEmail, cfaccesstest.WithClaim("exp", float64(now.Add(time.Hour).Unix())+0.5)), nil},
		{"aud as a single string", iss.UserToken(testEmail, cfaccesstest.WithClaim("aud", iss.Audience())), nil},
		{"aud with other apps too", iss.UserToken(testEmail, cfaccesstest.WithAudience("other-app", iss.Audience())), func(t *testing.T, c Claims) {
			require.Equal(t, []string{"other-app", iss.Audience()}, c.Audience)
		}},
		{"second configured audience", iss.UserToken(testEmail, cfaccesstest.WithAudience("second-app-aud")), nil},
		{"jku, x5u, jwk and x5c headers are ignored", iss.UserToken(testEmail,
			cfaccesstest.WithHeader("jku", attacker.CertsURL()),
			cfaccesstest.WithHeader("x5u", attacker.CertsURL()),
			cfaccesstest.WithHeader("jwk", cfaccesstest.PublicJWK(t, &attackerKey.PublicKey, "attacker")),
			cfaccesstest.WithHeader("x5c", []string{base64.StdEncoding.EncodeToString(cfaccesstest.SelfSignedCert(t, attackerKey))}),
		), nil},
		{"no typ header", iss.UserToken(testEmail, cfaccesstest.WithoutHeader("typ")), nil},
		{"signed by jwx's own jwt.Sign", jwxSignedToken(t, iss), func(t *testing.T, c Claims) {
			require.Equal(t, "jwx@example.com", c.Email)
		}},
	}

	t.Run("cases", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				claims, err := b.v.Verify(context.Background(), tc.token)
				require.NoError(t, err)
				if tc.check != nil {
					tc.check(t, claims)
				}
			})
		}
	})
	require.Zero(t, attacker.Hits())
}

// jwxSignedToken builds a token with jwx's builder, independently of
// cfaccesstest's hand-assembled minter, so the two cannot share a bug.
func jwxSignedToken(t *testing.T, iss *cfaccesstest.Issuer) string {
	t.Helper()
	kid, priv := iss.SigningKey()
	key, err := jwk.FromRaw(priv)
	require.NoError(t, err)
	require.NoError(t, key.Set(jwk.KeyIDKey, kid))
	tok, err := jwt.NewBuilder().
		Issuer(iss.URL()).
		Audience([]string{iss.Audience()}).
		IssuedAt(time.Now()).
		NotBefore(time.Now()).
		Expiration(time.Now().Add(time.Minute)).
		Subject("user-1").
		Claim("email", "jwx@example.com").
		Claim("type", "app").
		Build()
	require.NoError(t, err)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256, key))
	require.NoError(t, err)
	return string(signed)
}

// requireNoTokenInError checks that a reason never repeats the token or a
// meaningful part of it: reasons go to logs, and a token in a log is a
// credential in a log.
func requireNoTokenInError(t *testing.T, err error, token string) {
	t.Helper()
	msg := err.Error()
	if token != "" {
		require.NotContains(t, msg, token)
	}
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 16 {
			require.NotContains(t, msg, part)
		}
	}
}

func TestOversizedTokenIsRejectedBeforeAnyWork(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Past the rate bound, an unknown kid would trigger a fetch: the size
	// check must come first.
	b.clock.advancePastMin(&b.cfg)
	hits := b.iss.Hits()

	big := b.iss.UserToken(testEmail,
		cfaccesstest.WithKeyID("unknown-kid-that-would-trigger-a-fetch"),
		cfaccesstest.WithClaim("pad", strings.Repeat("x", DefaultMaxTokenBytes)))
	_, err := b.v.Verify(context.Background(), big)
	require.ErrorIs(t, err, errTooLarge)
	require.Equal(t, hits, b.iss.Hits(), "an oversized token caused a key fetch")

	// Not even a decode: bytes that are not a token at all get the same
	// answer.
	_, err = b.v.Verify(context.Background(), strings.Repeat("!", DefaultMaxTokenBytes+1))
	require.ErrorIs(t, err, errTooLarge)

	// At the limit, the size check passes and the token is judged on its
	// merits.
	_, err = b.v.Verify(context.Background(), strings.Repeat("a", DefaultMaxTokenBytes))
	require.ErrorIs(t, err, errMalformed)
}

func TestMaxTokenBytesIsConfigurable(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.MaxTokenBytes = 1024 })
	tok := b.iss.UserToken(testEmail, cfaccesstest.WithClaim("pad", strings.Repeat("x", 1024)))
	_, err := b.v.Verify(context.Background(), tok)
	require.ErrorIs(t, err, errTooLarge)
	_, err = b.v.Verify(context.Background(), b.iss.UserToken(testEmail))
	require.NoError(t, err)
}

func TestErrorsWrapInvalidToken(t *testing.T) {
	t.Parallel()
	for _, e := range []error{
		errTooLarge, errMalformed, errHeader, errAlgorithm, errMissingKID, errUnknownKID,
		errSignature, errClaims, errIssuer, errAudience, errMissingExp, errExpired,
		errNotYetValid, errIssuedInFuture, errType, errIdentity, errUnmappedService,
	} {
		require.ErrorIs(t, e, ErrInvalidToken)
		require.False(t, errors.Is(e, ErrNotReady))
	}
	require.False(t, errors.Is(ErrNotReady, ErrInvalidToken))
}

// BenchmarkVerify is the baseline for deciding on a verified-token cache.
func BenchmarkVerify(b *testing.B) {
	iss := cfaccesstest.NewIssuer(b)
	clock := &testClock{}
	v, err := New(context.Background(), baseConfig(iss, clock))
	require.NoError(b, err)
	b.Cleanup(v.Close)
	token := iss.UserToken(testEmail)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), token); err != nil {
			b.Fatal(err)
		}
	}
}
