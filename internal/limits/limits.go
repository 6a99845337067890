// Package limits is pgtenant's admission control: what keeps one tenant or
// one user from taking a whole server. Buckets limit request rates (token
// buckets keyed by tenant or user), Shares limit how many of a pool's
// connections one key holds at once (keyed counting semaphores), and a
// Refusal says which limit turned a request away and when to come back.
//
// Both structures live in one process: several instances behind a load
// balancer each apply their own limits (docs/reliability.md says what a
// fleet needs instead). Their memory is bounded: a share exists only while
// held or waited for, and a bucket only until it has refilled.
package limits

import (
	"errors"
	"fmt"
	"time"
)

// Reason names the limit or fault that refused a request. The set is
// fixed: reasons are metric labels.
type Reason string

// The reasons.
const (
	// RateTenant, RateUser: the tenant's or the user's request rate.
	RateTenant Reason = "rate_tenant"
	RateUser   Reason = "rate_user"
	// ShareTenant, ShareUser: the tenant or the user already holds its
	// share of the pool, and none came free within the acquire bound.
	ShareTenant Reason = "share_tenant"
	ShareUser   Reason = "share_user"
	// PoolTimeout: no pool connection came free within the acquire bound.
	PoolTimeout Reason = "pool_timeout"
	// DBUnreachable: no connection to the database could be opened.
	DBUnreachable Reason = "db_unreachable"
	// ConnectionLost: the connection broke under a statement (a killed
	// backend, a database shutdown).
	ConnectionLost Reason = "connection_lost"
	// StatementTimeout, LockTimeout: the database cancelled a statement
	// that ran, or waited for a lock, longer than the request had left.
	StatementTimeout Reason = "statement_timeout"
	LockTimeout      Reason = "lock_timeout"
)

// Reasons lists every Reason (metrics pre-create their series).
var Reasons = []Reason{RateTenant, RateUser, ShareTenant, ShareUser, PoolTimeout, DBUnreachable, ConnectionLost, StatementTimeout, LockTimeout}

// Refusal is an error that turned a request away before or while it ran,
// for a reason the client should retry after RetryAfter. It wraps the
// error that decides what the refusal means to callers (txscope's
// ErrRateLimited, ErrBusy or ErrUnavailable).
type Refusal struct {
	Reason     Reason
	RetryAfter time.Duration
	Err        error
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("%v (%s; retry after %s)", r.Err, r.Reason, r.RetryAfter)
}

func (r *Refusal) Unwrap() error { return r.Err }

// RefusalOf returns the Refusal in err's chain, if any.
func RefusalOf(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

// RetryAfterSeconds is the whole number of seconds a client should wait
// before retrying after err: the Refusal's RetryAfter rounded up, at least
// one; def (rounded up, at least one) without a Refusal.
func RetryAfterSeconds(err error, def time.Duration) int {
	d := def
	if r, ok := RefusalOf(err); ok && r.RetryAfter > 0 {
		d = r.RetryAfter
	}
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
