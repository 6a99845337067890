package txscope

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Reachability of the runtime database, for /readyz: a load balancer should
// stop sending requests while the database is down, and send them again
// within seconds of its return. The readiness self-check (internal/readiness)
// runs every few seconds and is heavier; this is state that scopes and a
// cheap probe keep current:
//
//   - a connection that cannot be opened marks the database unreachable at
//     once (the scope that met it answers 503);
//   - a scope that completes, or a probe that pings, marks it reachable.
//
// A connection that breaks under a statement does not mark anything: a
// killed backend looks the same as a shutting-down server, and only a
// failed connect tells them apart.

// ErrUnreachable is Reachable's error while the database cannot be reached.
var ErrUnreachable = errors.New("txscope: database unreachable")

type downState struct {
	err   error
	since time.Time
}

type health struct {
	down     atomic.Pointer[downState]
	onChange atomic.Pointer[func(error)]
}

// Reachable is nil while the runtime database is reachable as far as the
// scope knows, else ErrUnreachable with the last connection error. It runs
// no query.
func (s *Scope) Reachable() error {
	if d := s.health.down.Load(); d != nil {
		return fmt.Errorf("%w since %s: %w", ErrUnreachable, d.since.UTC().Format(time.RFC3339), d.err)
	}
	return nil
}

func (s *Scope) markDown(err error) {
	if s.health.down.Load() != nil {
		return
	}
	if s.health.down.CompareAndSwap(nil, &downState{err: err, since: time.Now()}) {
		s.notify(s.Reachable())
	}
}

func (s *Scope) markUp() {
	if d := s.health.down.Load(); d != nil && s.health.down.CompareAndSwap(d, nil) {
		s.notify(nil)
	}
}

func (s *Scope) notify(err error) {
	if f := s.health.onChange.Load(); f != nil {
		(*f)(err)
	}
}

// probeTimeout bounds one probe.
const probeTimeout = time.Second

// Watch probes the runtime database every interval (four times as often
// while it is unreachable) until ctx ends, and calls onChange (when not
// nil) on every change of Reachable, from whichever goroutine saw it: a
// scope or the probe. onChange must not block.
//
// A probe takes a pool connection within a second and pings it. A pool that
// is busy (every connection in use) makes the probe inconclusive, never
// unreachable: only a failed connect does that.
func (s *Scope) Watch(ctx context.Context, interval time.Duration, onChange func(error)) {
	if onChange != nil {
		s.health.onChange.Store(&onChange)
	}
	if s.pool == nil {
		return
	}
	for {
		wait := interval
		if s.health.down.Load() != nil {
			wait = interval / 4
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		s.probe(ctx)
	}
}

func (s *Scope) probe(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	c, err := s.pool.Acquire(pctx)
	if err != nil {
		var connErr *pgconn.ConnectError
		if errors.As(err, &connErr) {
			s.markDown(err)
		}
		return
	}
	defer c.Release()
	if c.Ping(pctx) == nil {
		s.markUp()
	}
}
