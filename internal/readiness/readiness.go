// Package readiness keeps the server's readiness as state instead of
// computing it per probe: a background loop re-runs a check (the database
// self-check: roles, migrations, policy and catalog drift) at a fixed
// interval, and anyone may ask for the last verdict at the cost of two
// atomic loads: /readyz on every probe, and a per-request gate that wants
// to stop serving tenant routes when the schema drifts.
//
// Shutdown flips the state at once (Drain): from then on the server is
// not ready, whatever the checks say, so a load balancer stops sending new
// work while in-flight requests finish.
package readiness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Defaults.
const (
	DefaultInterval = 10 * time.Second
	DefaultTimeout  = 3 * time.Second
)

// Errors Err returns besides a failed check's own.
var (
	// ErrDraining: shutdown has begun.
	ErrDraining = errors.New("readiness: draining")
	// ErrNotChecked: no check has completed yet.
	ErrNotChecked = errors.New("readiness: not checked yet")
	// ErrStale: the last completed check is older than three intervals
	// (the loop is stuck or stopped), so its verdict no longer counts.
	ErrStale = errors.New("readiness: last check is stale")
)

// Config configures a Monitor.
type Config struct {
	// Check decides readiness; nil means always ready once checked. It is
	// called with a context bounded by Timeout.
	Check func(ctx context.Context) error
	// Interval between checks (default 10s).
	Interval time.Duration
	// Timeout bounds one check (default 3s).
	Timeout time.Duration
	// Logger receives changes of verdict. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// verdict is the outcome of one check.
type verdict struct {
	err error
	at  time.Time
}

// Monitor holds the readiness state. Its methods are safe for concurrent
// use.
type Monitor struct {
	cfg      Config
	last     atomic.Pointer[verdict]
	draining atomic.Bool
}

// New returns a Monitor that has not checked yet (Err is ErrNotChecked).
func New(cfg Config) *Monitor {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Check == nil {
		cfg.Check = func(context.Context) error { return nil }
	}
	return &Monitor{cfg: cfg}
}

// Refresh runs the check now, within ctx, records its verdict and returns
// it. The server runs the first one at start and refuses to start when it
// fails.
func (m *Monitor) Refresh(ctx context.Context) error {
	err := m.cfg.Check(ctx)
	prev := m.last.Swap(&verdict{err: err, at: m.cfg.Now()})
	switch {
	case err != nil && (prev == nil || prev.err == nil):
		m.cfg.Logger.Warn("not ready", "err", err.Error())
	case err == nil && prev != nil && prev.err != nil:
		m.cfg.Logger.Info("ready again")
	}
	return err
}

// Run refreshes the verdict every Interval until ctx ends, each check
// bounded by Timeout.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
			_ = m.Refresh(cctx)
			cancel()
		}
	}
}

// Drain marks the server as shutting down: Err returns ErrDraining from
// now on.
func (m *Monitor) Drain() { m.draining.Store(true) }

// Err is the current verdict, nil when ready: ErrDraining once Drain was
// called, ErrNotChecked before the first check, ErrStale when the last
// check is older than three intervals, else the last check's error. It
// runs no check.
func (m *Monitor) Err() error {
	if m.draining.Load() {
		return ErrDraining
	}
	v := m.last.Load()
	if v == nil {
		return ErrNotChecked
	}
	if age := m.cfg.Now().Sub(v.at); age > 3*m.cfg.Interval {
		return fmt.Errorf("%w (%s old)", ErrStale, age.Round(time.Second))
	}
	return v.err
}
