// Package readiness keeps the server's readiness as state instead of
// computing it per probe: a background loop re-runs a check (the database
// self-check: roles, migrations, policy and catalog drift) at a fixed
// interval, and anyone may ask for the last verdict at the cost of two
// atomic loads: /readyz on every probe, and the per-request gate
// (Monitor.Gate) that stops serving tenant and admin routes while the
// database is not what the binary expects.
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

// Defaults. DefaultInterval bounds how long the server goes on serving a
// database that drifted (a policy weakened by hand) before the gate
// closes: a test keeps it at 10 s or less.
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

// Mismatch is implemented by check errors that are a verdict on the
// database rather than a failure to reach it: the database was read and is
// not what this binary expects (txscope.SelfCheckError: roles, pending
// migrations, schema drift). Only such errors close the gate.
type Mismatch interface{ Mismatch() bool }

// IsMismatch reports whether err (or an error it wraps) is a Mismatch.
func IsMismatch(err error) bool {
	var m Mismatch
	return errors.As(err, &m) && m.Mismatch()
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
	gate     atomic.Pointer[verdict] // the last mismatch, until a check passes
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
	v := &verdict{err: err, at: m.cfg.Now()}
	prev := m.last.Swap(v)
	switch {
	case err == nil:
		m.gate.Store(nil)
	case IsMismatch(err):
		m.gate.Store(v)
	}
	switch {
	// Logged when it starts and whenever what it says changes (another
	// object drifted), so the log says what differs.
	case err != nil && (prev == nil || prev.err == nil || prev.err.Error() != err.Error()):
		m.cfg.Logger.Warn("not ready", "err", err.Error(), "gate_closed", m.gate.Load() != nil)
	case err == nil && prev != nil && prev.err != nil:
		m.cfg.Logger.Info("ready again")
	}
	return err
}

// Gate is the last Mismatch a check returned, until a later check passes;
// nil while the last conclusive check passed. A check that could not
// conclude (the database unreachable, a timeout) leaves it as it was: a
// drift seen once keeps the gate closed until a check shows it gone, so
// making the check fail cannot reopen it. The server refuses tenant and
// admin requests while it is not nil (fail closed); it runs no check.
func (m *Monitor) Gate() error {
	if v := m.gate.Load(); v != nil {
		return v.err
	}
	return nil
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
