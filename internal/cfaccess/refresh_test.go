package cfaccess

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/cfaccess/cfaccesstest"
)

func TestRotatedKeyIsPickedUpOnUnknownKID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.True(t, b.v.Ready())
	require.EqualValues(t, 1, b.iss.Hits())
	oldToken := b.iss.UserToken(testEmail)

	newKID := b.iss.Rotate()
	newToken := b.iss.UserToken(testEmail)
	require.Contains(t, headerOf(t, newToken), newKID)

	// Within the rate bound of the initial fetch, the new kid is unknown
	// and no fetch is made.
	_, err := b.v.Verify(context.Background(), newToken)
	require.ErrorIs(t, err, errUnknownKID)
	require.EqualValues(t, 1, b.iss.Hits())

	// Once the bound has passed, the unknown kid triggers one refresh and
	// the retried lookup finds the key.
	b.clock.advancePastMin(&b.cfg)
	claims, err := b.v.Verify(context.Background(), newToken)
	require.NoError(t, err)
	require.Equal(t, testEmail, claims.Email)
	require.EqualValues(t, 2, b.iss.Hits())

	// The old key is still published and still works, without a fetch.
	_, err = b.v.Verify(context.Background(), oldToken)
	require.NoError(t, err)
	require.EqualValues(t, 2, b.iss.Hits())
}

func TestUnknownKIDRefreshIsRateBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.EqualValues(t, 1, b.iss.Hits())

	// Tokens are minted up front: the minter may fail the test, which only
	// the test goroutine may do.
	const n = 200
	flood := func() {
		tokens := make([]string, n)
		for i := range tokens {
			tokens[i] = b.iss.UserToken(testEmail, cfaccesstest.WithKeyID(fmt.Sprintf("random-kid-%d-%d", i, time.Now().UnixNano())))
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, tok := range tokens {
			wg.Go(func() { _, errs[i] = b.v.Verify(context.Background(), tok) })
		}
		wg.Wait()
		for _, err := range errs {
			require.ErrorIs(t, err, errUnknownKID)
		}
	}

	// Inside the bound that the initial fetch started: no fetch at all.
	flood()
	require.EqualValues(t, 1, b.iss.Hits())

	// Past the bound: 200 concurrent unknown kids cause exactly one fetch
	// (the others join it or are inside the new bound).
	b.clock.advancePastMin(&b.cfg)
	flood()
	require.EqualValues(t, 2, b.iss.Hits())

	// And again only one per interval.
	flood()
	require.EqualValues(t, 2, b.iss.Hits())
	b.clock.advancePastMin(&b.cfg)
	flood()
	require.EqualValues(t, 3, b.iss.Hits())
}

func TestJWKSOutageAfterStartKeepsServingCachedKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		outage func(*cfaccesstest.Issuer)
	}{
		{"500", func(iss *cfaccesstest.Issuer) { iss.SetOffline(true) }},
		{"connection dropped", func(iss *cfaccesstest.Issuer) { iss.SetDropConnections(true) }},
		{"empty key set", func(iss *cfaccesstest.Issuer) { iss.Unpublish(iss.KeyID()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			token := b.iss.UserToken(testEmail)
			_, err := b.v.Verify(context.Background(), token)
			require.NoError(t, err)

			tc.outage(b.iss)
			_, err = b.v.Verify(context.Background(), token)
			require.NoError(t, err)

			// Force a refresh attempt into the outage: it fails, and the
			// last good set keeps serving.
			b.clock.advancePastMin(&b.cfg)
			hits := b.iss.Hits()
			_, err = b.v.Verify(context.Background(), b.iss.UserToken(testEmail, cfaccesstest.WithKeyID("rotated-away")))
			require.ErrorIs(t, err, errUnknownKID)
			require.Greater(t, b.iss.Hits(), hits, "no refresh was attempted")

			require.True(t, b.v.Ready())
			claims, err := b.v.Verify(context.Background(), token)
			require.NoError(t, err)
			require.Equal(t, testEmail, claims.Email)
		})
	}
}

func TestJWKSUnreachableAtStart(t *testing.T) {
	t.Parallel()
	b := setupWith(t, func(iss *cfaccesstest.Issuer) { iss.SetOffline(true) }, func(c *Config) {
		c.allowShortIntervals = true
		c.MinRefreshInterval = 20 * time.Millisecond
	})
	require.False(t, b.v.Ready())

	token := b.iss.UserToken(testEmail)
	for range 5 {
		claims, err := b.v.Verify(context.Background(), token)
		require.ErrorIs(t, err, ErrNotReady)
		require.NotErrorIs(t, err, ErrInvalidToken)
		require.Zero(t, claims)
	}
	// Garbage is still judged as garbage, without keys.
	_, err := b.v.Verify(context.Background(), "a.b")
	require.ErrorIs(t, err, errMalformed)

	// The key server comes back: the background retry makes us ready
	// without a restart.
	b.iss.SetOffline(false)
	require.Eventually(t, b.v.Ready, 5*time.Second, 5*time.Millisecond)
	claims, err := b.v.Verify(context.Background(), token)
	require.NoError(t, err)
	require.Equal(t, testEmail, claims.Email)
}

func TestNotReadyVerifyLoadsKeysAtTheBoundedRate(t *testing.T) {
	t.Parallel()
	// MinRefreshInterval is a real minute here, so the background retry
	// does not fire during the test: only Verify can load the keys.
	b := setupWith(t, func(iss *cfaccesstest.Issuer) { iss.SetOffline(true) })
	require.False(t, b.v.Ready())
	require.EqualValues(t, 1, b.iss.Hits())

	token := b.iss.UserToken(testEmail)
	for range 50 {
		_, err := b.v.Verify(context.Background(), token)
		require.ErrorIs(t, err, ErrNotReady)
	}
	require.EqualValues(t, 1, b.iss.Hits(), "Verify while not ready fetched faster than MinRefreshInterval")

	b.iss.SetOffline(false)
	_, err := b.v.Verify(context.Background(), token)
	require.ErrorIs(t, err, ErrNotReady, "within the bound, no fetch yet")
	require.EqualValues(t, 1, b.iss.Hits())

	b.clock.advancePastMin(&b.cfg)
	claims, err := b.v.Verify(context.Background(), token)
	require.NoError(t, err)
	require.Equal(t, testEmail, claims.Email)
	require.True(t, b.v.Ready())
	require.EqualValues(t, 2, b.iss.Hits())
}

func TestPeriodicRefresh(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) {
		c.allowShortIntervals = true
		c.RefreshInterval = 20 * time.Millisecond
		c.MinRefreshInterval = 10 * time.Millisecond
	})
	// A rotation is picked up by the background refresh alone: with the
	// fake clock never advanced, the unknown-kid path cannot fetch.
	b.iss.Rotate()
	token := b.iss.UserToken(testEmail)
	require.Eventually(t, func() bool {
		_, err := b.v.Verify(context.Background(), token)
		return err == nil
	}, 5*time.Second, 5*time.Millisecond)
	require.Greater(t, b.iss.Hits(), int64(1))
}

func TestPeriodicRefreshRecoversAfterFailures(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) {
		c.allowShortIntervals = true
		c.RefreshInterval = 40 * time.Millisecond
		c.MinRefreshInterval = 5 * time.Millisecond
	})
	old := b.iss.UserToken(testEmail)

	// Several background refreshes fail (backing off); the old set serves.
	b.iss.SetOffline(true)
	hits := b.iss.Hits()
	require.Eventually(t, func() bool { return b.iss.Hits() >= hits+3 }, 5*time.Second, 5*time.Millisecond)
	_, err := b.v.Verify(context.Background(), old)
	require.NoError(t, err)

	// Back online with a new key: the background refresh finds it.
	b.iss.Rotate()
	b.iss.SetOffline(false)
	token := b.iss.UserToken(testEmail)
	require.Eventually(t, func() bool {
		_, err := b.v.Verify(context.Background(), token)
		return err == nil
	}, 5*time.Second, 5*time.Millisecond)
}

func TestVerifyDoesNotWaitPastItsContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.iss.SetOffline(true)
	b.clock.advancePastMin(&b.cfg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Whether or not the refresh it starts has finished, a cancelled
	// request gets a prompt answer, and never an acceptance.
	_, err := b.v.Verify(ctx, b.iss.UserToken(testEmail, cfaccesstest.WithKeyID("new")))
	require.ErrorIs(t, err, errUnknownKID)
}

func TestClose(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.iss.UserToken(testEmail)
	b.v.Close()
	b.v.Close() // idempotent

	// Loaded keys keep verifying; nothing is fetched any more.
	_, err := b.v.Verify(context.Background(), token)
	require.NoError(t, err)
	b.clock.advancePastMin(&b.cfg)
	hits := b.iss.Hits()
	_, err = b.v.Verify(context.Background(), b.iss.UserToken(testEmail, cfaccesstest.WithKeyID("new")))
	require.ErrorIs(t, err, errUnknownKID)
	require.Equal(t, hits, b.iss.Hits())
}

func TestNewReturnsWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	iss := cfaccesstest.NewIssuer(t)
	release := make(chan struct{})
	// A key server that hangs until released.
	cfg := baseConfig(iss, &testClock{})
	cfg.HTTPClient = hangingClient(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	v, err := New(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	require.False(t, v.Ready())

	// The initial fetch carries on in the background and makes us ready.
	close(release)
	require.Eventually(t, v.Ready, 5*time.Second, 5*time.Millisecond)
	_, err = v.Verify(context.Background(), iss.UserToken(testEmail))
	require.NoError(t, err)
}
