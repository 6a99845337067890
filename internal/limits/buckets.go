package limits

import (
	"math"
	"sync"
	"time"
)

// Rate is a sustained rate and a burst: PerSecond tokens refill every
// second, up to Burst. A zero PerSecond means no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// On reports whether r limits anything.
func (r Rate) On() bool { return r.PerSecond > 0 }

// DefaultMaxKeys bounds the buckets a Buckets keeps.
const DefaultMaxKeys = 100_000

// Buckets is a set of token buckets, one per key, created on first use. A
// bucket that has refilled to its burst is the same as no bucket, so
// Buckets forgets it: memory holds only the keys active within the last
// Burst/PerSecond seconds, and never more than MaxKeys of them.
//
// At MaxKeys, after forgetting the full buckets, a new key is admitted
// without a bucket (fail open): a refusal would lock new tenants out while
// someone sprays keys. The caller limits key churn with a limit checked
// first (txscope checks the user's bucket before the tenant's, so tenant
// keys are created no faster than users' rates allow).
type Buckets struct {
	rate    Rate
	maxKeys int
	now     func() time.Time

	mu        sync.Mutex
	m         map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewBuckets returns buckets at rate r (nil when r is off), keeping at most
// maxKeys (DefaultMaxKeys when zero). now is the clock (time.Now when nil).
func NewBuckets(r Rate, maxKeys int, now func() time.Time) *Buckets {
	if !r.On() {
		return nil
	}
	if r.Burst < 1 {
		r.Burst = max(1, int(math.Ceil(r.PerSecond)))
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	return &Buckets{rate: r, maxKeys: maxKeys, now: now, m: map[string]*bucket{}}
}

// refill is how long an empty bucket takes to fill up.
func (b *Buckets) refill() time.Duration {
	return time.Duration(float64(b.rate.Burst) / b.rate.PerSecond * float64(time.Second))
}

// Take takes one token from key's bucket. When there is none it returns
// false and how long until there is one. A nil Buckets admits everything.
func (b *Buckets) Take(key string) (ok bool, retryAfter time.Duration) {
	if b == nil {
		return true, 0
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.lastSweep) >= b.refill() {
		b.sweep(now)
	}
	k, found := b.m[key]
	if !found {
		if len(b.m) >= b.maxKeys {
			b.sweep(now)
			if len(b.m) >= b.maxKeys {
				return true, 0
			}
		}
		k = &bucket{tokens: float64(b.rate.Burst), at: now}
		b.m[key] = k
	}
	k.tokens = b.level(k, now)
	k.at = now
	if k.tokens >= 1 {
		k.tokens--
		return true, 0
	}
	wait := time.Duration((1 - k.tokens) / b.rate.PerSecond * float64(time.Second))
	return false, max(wait, time.Millisecond)
}

// level is k's token count at now.
func (b *Buckets) level(k *bucket, now time.Time) float64 {
	elapsed := now.Sub(k.at).Seconds()
	if elapsed < 0 {
		elapsed = 0
	}
	return math.Min(float64(b.rate.Burst), k.tokens+elapsed*b.rate.PerSecond)
}

// sweep forgets the buckets that have refilled.
func (b *Buckets) sweep(now time.Time) {
	for key, k := range b.m {
		if b.level(k, now) >= float64(b.rate.Burst) {
			delete(b.m, key)
		}
	}
	b.lastSweep = now
}

// Len is the number of buckets kept.
func (b *Buckets) Len() int {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}
