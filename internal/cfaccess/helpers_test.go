package cfaccess

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
)

const (
	testServiceCN   = "8a1b2c3d4e5f60718293a4b5c6d7e8f9.access"
	testServiceName = "billing-worker"
)

// testClock is real time plus an offset the test can advance, so the
// refresh rate bound can be crossed without sleeping while minted tokens
// (stamped with real time) stay valid.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time             { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration)    { c.offset.Add(int64(d)) }
func (c *testClock) advancePastMin(cfg *Config) { c.advance(cfg.MinRefreshInterval + time.Second) }

type testBundle struct {
	iss   *cfaccesstest.Issuer
	v     *Verifier
	cfg   Config // as given to New (before defaults)
	clock *testClock
}

// baseConfig is a valid config for iss: one-minute rate bound on a fake
// clock, background refresh far enough away not to interfere.
func baseConfig(iss *cfaccesstest.Issuer, clock *testClock) Config {
	return Config{
		TeamDomain:            iss.URL(),
		Audiences:             []string{iss.Audience()},
		ServiceTokens:         map[string]string{testServiceCN: testServiceName},
		RefreshInterval:       time.Hour,
		MinRefreshInterval:    time.Minute,
		AllowInsecureLoopback: true,
		Logger:                slog.New(slog.DiscardHandler),
		now:                   clock.now,
	}
}

// setup starts an issuer and a Verifier on it; mods adjust the config, and
// before runs ahead of New (e.g. to take the issuer offline).
func setup(t *testing.T, mods ...func(*Config)) *testBundle {
	t.Helper()
	return setupWith(t, nil, mods...)
}

func setupWith(t *testing.T, before func(*cfaccesstest.Issuer), mods ...func(*Config)) *testBundle {
	t.Helper()
	iss := cfaccesstest.NewIssuer(t)
	if before != nil {
		before(iss)
	}
	clock := &testClock{}
	cfg := baseConfig(iss, clock)
	for _, m := range mods {
		m(&cfg)
	}
	v, err := New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(v.Close) // runs before the issuer's server closes
	return &testBundle{iss: iss, v: v, cfg: cfg, clock: clock}
}

// headerOf decodes a token's header, for assertions.
func headerOf(t *testing.T, token string) string {
	t.Helper()
	seg, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(t, err)
	return string(raw)
}

// hangingClient holds every request until release is closed (or the
// request's context ends), then sends it.
func hangingClient(release <-chan struct{}) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		select {
		case <-release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
