package limits

import (
	"context"
	"sync"
)

// Shares limits how many units of something (pool connections) one key (a
// tenant, a user) holds at once: a counting semaphore per key, created
// when first held and dropped when neither held nor waited for, so memory
// follows what is in flight. Waiters are served first come, first served.
type Shares struct {
	max int

	mu sync.Mutex
	m  map[string]*share
}

type share struct {
	held    int
	waiters []chan struct{}
}

// NewShares returns shares of at most max units per key (nil when max < 1:
// no limit).
func NewShares(max int) *Shares {
	if max < 1 {
		return nil
	}
	return &Shares{max: max, m: map[string]*share{}}
}

// Max is the units one key may hold (0 for a nil Shares: no limit).
func (s *Shares) Max() int {
	if s == nil {
		return 0
	}
	return s.max
}

// Acquire takes one unit for key, waiting while key holds its maximum.
// It returns ctx's error when ctx ends first, holding nothing then. Each
// successful Acquire needs one Release. A nil Shares admits everything.
func (s *Shares) Acquire(ctx context.Context, key string) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	sh := s.m[key]
	if sh == nil {
		sh = &share{}
		s.m[key] = sh
	}
	if sh.held < s.max {
		sh.held++
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{}, 1)
	sh.waiters = append(sh.waiters, ch)
	s.mu.Unlock()

	select {
	case <-ch:
		return nil // Release handed its unit over
	case <-ctx.Done():
	}
	s.mu.Lock()
	for i, w := range sh.waiters {
		if w == ch {
			sh.waiters = append(sh.waiters[:i], sh.waiters[i+1:]...)
			s.drop(key, sh)
			s.mu.Unlock()
			return ctx.Err()
		}
	}
	s.mu.Unlock()
	// A Release handed a unit over as ctx ended: give it back.
	s.Release(key)
	return ctx.Err()
}

// Release returns one unit of key, to the longest waiter if there is one.
func (s *Shares) Release(key string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.m[key]
	if sh == nil || sh.held == 0 {
		panic("limits: Release of a share not held")
	}
	if len(sh.waiters) > 0 {
		w := sh.waiters[0]
		sh.waiters = sh.waiters[1:]
		w <- struct{}{} // buffered: never blocks; the unit changes hands
		return
	}
	sh.held--
	s.drop(key, sh)
}

func (s *Shares) drop(key string, sh *share) {
	if sh.held == 0 && len(sh.waiters) == 0 {
		delete(s.m, key)
	}
}

// Held is how many units key holds.
func (s *Shares) Held(key string) int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh := s.m[key]; sh != nil {
		return sh.held
	}
	return 0
}

// Waiting is how many Acquire calls wait for key.
func (s *Shares) Waiting(key string) int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh := s.m[key]; sh != nil {
		return len(sh.waiters)
	}
	return 0
}

// Len is the number of keys holding or waiting.
func (s *Shares) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
