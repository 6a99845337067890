package limits_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/limits"
)

// clock is a manual clock for the buckets.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestBucketsRateAndBurst(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	b := limits.NewBuckets(limits.Rate{PerSecond: 10, Burst: 5}, 0, c.now)
	for i := range 5 {
		ok, _ := b.Take("a")
		require.True(t, ok, "burst token %d", i)
	}
	ok, wait := b.Take("a")
	require.False(t, ok, "the burst is spent")
	require.InDelta(t, 100*time.Millisecond, wait, float64(time.Millisecond), "one token takes 1/10 s")
	ok, _ = b.Take("b")
	require.True(t, ok, "another key has its own bucket")

	c.advance(100 * time.Millisecond)
	ok, _ = b.Take("a")
	require.True(t, ok, "refilled one token")
	ok, _ = b.Take("a")
	require.False(t, ok)

	// Sustained: over 10 s at most 10/s pass.
	passed := 0
	for range 1000 {
		c.advance(10 * time.Millisecond)
		if ok, _ := b.Take("a"); ok {
			passed++
		}
	}
	require.InDelta(t, 100, passed, 1)
}

// TestBucketsForgetFullBuckets: memory holds only keys that are still
// refilling; a bucket that has refilled is dropped at the next sweep.
func TestBucketsForgetFullBuckets(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	b := limits.NewBuckets(limits.Rate{PerSecond: 100, Burst: 100}, 0, c.now)
	for i := range 5000 {
		b.Take(fmt.Sprint("k", i))
	}
	require.Equal(t, 5000, b.Len())
	c.advance(time.Second) // long enough to refill one token each: full again
	b.Take("fresh")
	require.Equal(t, 1, b.Len(), "refilled buckets were forgotten")
}

// TestBucketsMaxKeys: at the bound, a new key passes without a bucket
// (fail open) and memory does not grow; known keys stay limited.
func TestBucketsMaxKeys(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	b := limits.NewBuckets(limits.Rate{PerSecond: 1, Burst: 1}, 10, c.now)
	for i := range 10 {
		ok, _ := b.Take(fmt.Sprint("k", i))
		require.True(t, ok)
	}
	for i := range 100 {
		ok, _ := b.Take(fmt.Sprint("new", i))
		require.True(t, ok)
	}
	require.Equal(t, 10, b.Len())
	ok, _ := b.Take("k0")
	require.False(t, ok, "a known key keeps its limit")
}

func TestBucketsOff(t *testing.T) {
	t.Parallel()
	b := limits.NewBuckets(limits.Rate{}, 0, nil)
	require.Nil(t, b)
	for range 1000 {
		ok, _ := b.Take("a")
		require.True(t, ok)
	}
}

func TestSharesLimitAndHandOver(t *testing.T) {
	t.Parallel()
	s := limits.NewShares(2)
	ctx := context.Background()
	require.NoError(t, s.Acquire(ctx, "t"))
	require.NoError(t, s.Acquire(ctx, "t"))
	require.NoError(t, s.Acquire(ctx, "u"), "another key is not limited by t")
	require.Equal(t, 2, s.Held("t"))

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	require.ErrorIs(t, s.Acquire(short, "t"), context.DeadlineExceeded)
	require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond, "it waited for its bound")
	require.Equal(t, 2, s.Held("t"), "a waiter that gave up holds nothing")

	got := make(chan int, 2)
	for i := range 2 {
		go func() {
			if s.Acquire(ctx, "t") == nil {
				got <- i
			}
		}()
		require.Eventually(t, func() bool { return s.Waiting("t") == i+1 }, time.Second, time.Millisecond)
	}
	s.Release("t")
	require.Equal(t, 0, <-got, "first come, first served")
	s.Release("t")
	require.Equal(t, 1, <-got)
	require.Equal(t, 2, s.Held("t"), "units changed hands")
	s.Release("t")
	s.Release("t")
	s.Release("u")
	require.Equal(t, 0, s.Len(), "nothing held, nothing kept")
	require.Panics(t, func() { s.Release("t") })
}

// TestSharesConcurrency: under many goroutines with random timeouts a key
// never holds more than its maximum, and everything is released.
func TestSharesConcurrency(t *testing.T) {
	t.Parallel()
	s := limits.NewShares(3)
	var inside, peak atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%7)*time.Millisecond)
			defer cancel()
			if err := s.Acquire(ctx, "k"); err != nil {
				require.True(t, errors.Is(err, context.DeadlineExceeded))
				return
			}
			n := inside.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			s.Release("k")
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, peak.Load(), int64(3))
	require.Equal(t, int64(3), peak.Load(), "the share was used in full")
	require.Equal(t, 0, s.Len())
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	base := errors.New("x")
	require.Equal(t, 1, limits.RetryAfterSeconds(base, 0))
	require.Equal(t, 2, limits.RetryAfterSeconds(base, 2*time.Second))
	r := &limits.Refusal{Reason: limits.RateUser, RetryAfter: 1100 * time.Millisecond, Err: base}
	require.Equal(t, 2, limits.RetryAfterSeconds(fmt.Errorf("wrapped: %w", r), time.Second))
	require.ErrorIs(t, r, base)
	got, ok := limits.RefusalOf(fmt.Errorf("w: %w", r))
	require.True(t, ok)
	require.Equal(t, limits.RateUser, got.Reason)
}
