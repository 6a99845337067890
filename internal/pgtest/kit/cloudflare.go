package kit

import (
	"context"
	"testing"
	"time"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/cfaccess"
	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
)

// ServiceIdentity is the email the service token "ci.access" maps to in
// Cloudflare; give it a user row to let the token in.
const ServiceIdentity = "ci-bot@svc.example"

// Cloudflare is the AUTH_MODE=cloudflare authenticator against a local
// issuer that mints Access-shaped tokens (cfaccesstest), with the service
// token "ci.access" mapped to ServiceIdentity. startTimeout bounds the
// first key fetch (an offline issuer leaves the authenticator not ready).
func Cloudflare(t testing.TB, iss *cfaccesstest.Issuer, startTimeout time.Duration) auth.Authenticator {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	v, err := cfaccess.New(ctx, cfaccess.Config{
		TeamDomain: iss.URL(), Audiences: []string{iss.Audience()}, AllowInsecureLoopback: true,
		ServiceTokens: map[string]string{"ci.access": ServiceIdentity},
	})
	if err != nil {
		t.Fatalf("kit: cloudflare verifier: %v", err)
	}
	t.Cleanup(v.Close)
	return auth.Cloudflare(v, auth.CloudflareOptions{})
}
