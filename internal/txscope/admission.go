package txscope

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgtenant/pgtenant/internal/limits"
)

// Admission: what a tenant scope passes before it gets a connection, and
// the bounds its transaction runs under.
//
// The attack it closes is one tenant (or one user) taking the runtime pool
// from everyone else: requests queued on a locked row, a slow export, a
// client in a retry loop. Before this, one user's writes waiting on a row
// lock pinned all ten connections for ten seconds while another tenant's
// reads stalled nine. Now a scope passes, in order, the user's and the
// tenant's request rate (token buckets), then the user's and the tenant's
// share of the pool (at most UserShare and TenantShare connections at
// once), then the pool itself, all within AcquireTimeout; and the
// transaction runs with a statement_timeout and lock_timeout no longer than
// what the request has left, so a lock wait ends on the server too.

// Defaults of the bounds (Config).
const (
	DefaultAcquireTimeout   = 2 * time.Second
	DefaultStatementTimeout = 30 * time.Second
	DefaultLockTimeout      = 2 * time.Second
	DefaultConnectTimeout   = 5 * time.Second
)

// Retry-After hints of the refusals txscope makes (rate limits compute
// their own).
const (
	retryBusy        = time.Second
	retryUnreachable = 2 * time.Second
)

// timeoutsSQL bounds an admin transaction on the server side (tenant
// scopes set the same settings in enterSQL, after app.enter, whose RESET
// ALL would undo anything set before it); set_config(..., true) ends with
// the transaction.
// idle_in_transaction_session_timeout ends a transaction whose client
// stopped sending (a hung handler) once the request's time is up.
const timeoutsSQL = `SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true), set_config('idle_in_transaction_session_timeout', $3, true)`

// admission holds the limits of a Scope.
type admission struct {
	timeout                time.Duration
	stmtCap, lockCap       time.Duration
	tenantShare, userShare *limits.Shares
	tenantRate, userRate   *limits.Buckets
	aliases                *aliases
}

func newAdmission(cfg Config, poolSize int32) admission {
	a := admission{
		timeout: orDefault(cfg.AcquireTimeout, DefaultAcquireTimeout),
		stmtCap: orDefault(cfg.StatementTimeout, DefaultStatementTimeout),
		lockCap: orDefault(cfg.LockTimeout, DefaultLockTimeout),
		aliases: &aliases{},
	}
	share := func(n int) *limits.Shares {
		if n == 0 {
			n = max(1, int(poolSize)/2)
		}
		return limits.NewShares(n)
	}
	a.tenantShare, a.userShare = share(cfg.TenantShare), share(cfg.UserShare)
	a.tenantRate = limits.NewBuckets(cfg.TenantRate, 0, nil)
	a.userRate = limits.NewBuckets(cfg.UserRate, 0, nil)
	return a
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Shares reports the per-tenant and per-user pool shares in force (0: no
// bound).
func (s *Scope) Shares() (tenant, user int) {
	return s.adm.tenantShare.Max(), s.adm.userShare.Max()
}

// acquireFor admits who and takes a runtime connection: the user's rate,
// the tenant's rate, the user's share, the tenant's share, the pool, the
// last three within the acquire bound. done gives the shares back; call it
// after the connection went back to the pool.
func (s *Scope) acquireFor(ctx context.Context, who Who) (c *pgxpool.Conn, done func(), err error) {
	if s.pool == nil {
		return nil, nil, ErrNoRuntime
	}
	user, tenant := who.Email, s.adm.aliases.key(who.Tenant)
	// The user first: a user spraying tenant keys is held to its own rate
	// before it can create tenant buckets.
	if ok, wait := s.adm.userRate.Take(user); !ok {
		return nil, nil, &limits.Refusal{Reason: limits.RateUser, RetryAfter: wait, Err: ErrRateLimited}
	}
	if tenant != "" {
		if ok, wait := s.adm.tenantRate.Take(tenant); !ok {
			return nil, nil, &limits.Refusal{Reason: limits.RateTenant, RetryAfter: wait, Err: ErrRateLimited}
		}
	}
	actx, cancel := context.WithTimeout(ctx, s.adm.timeout)
	defer cancel()
	if err := s.adm.userShare.Acquire(actx, user); err != nil {
		return nil, nil, waitFailed(ctx, limits.ShareUser)
	}
	done = func() { s.adm.userShare.Release(user) }
	if tenant != "" {
		if err := s.adm.tenantShare.Acquire(actx, tenant); err != nil {
			done()
			return nil, nil, waitFailed(ctx, limits.ShareTenant)
		}
		done = func() { s.adm.tenantShare.Release(tenant); s.adm.userShare.Release(user) }
	}
	c, err = s.acquireBounded(ctx, actx, s.pool)
	if err != nil {
		done()
		return nil, nil, err
	}
	return c, done, nil
}

// waitFailed is the error of a share wait that ended: the request's own
// end, or the acquire bound.
func waitFailed(ctx context.Context, reason limits.Reason) error {
	if ctx.Err() != nil {
		return mapError(ctx.Err())
	}
	return &limits.Refusal{Reason: reason, RetryAfter: retryBusy, Err: ErrBusy}
}

// acquireBounded takes a connection from p within actx (the acquire bound
// derived from ctx, the request's context).
func (s *Scope) acquireBounded(ctx, actx context.Context, p *pgxpool.Pool) (*pgxpool.Conn, error) {
	c, err := p.Acquire(actx)
	if err == nil {
		return c, nil
	}
	var connErr *pgconn.ConnectError
	switch {
	case errors.As(err, &connErr):
		s.markDown(err)
		return nil, &limits.Refusal{Reason: limits.DBUnreachable, RetryAfter: retryUnreachable,
			Err: fmt.Errorf("%w: acquire: %w", ErrUnavailable, err)}
	case ctx.Err() != nil:
		return nil, mapError(fmt.Errorf("txscope: acquire: %w", ctx.Err()))
	case actx.Err() != nil:
		return nil, &limits.Refusal{Reason: limits.PoolTimeout, RetryAfter: retryBusy,
			Err: fmt.Errorf("%w: no pool connection within %s", ErrUnavailable, s.adm.timeout)}
	}
	return nil, mapError(fmt.Errorf("txscope: acquire: %w", err))
}

// timeouts are the values of timeoutsSQL and enterSQL for a transaction run under ctx:
// what ctx has left, capped, at least a millisecond (0 would turn the
// timeout off).
func (a *admission) timeouts(ctx context.Context) (statement, lock, idle string) {
	budget := a.stmtCap
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl))
	}
	budget = max(budget, time.Millisecond)
	ms := func(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) }
	return ms(budget), ms(min(budget, a.lockCap)), ms(budget)
}

// maxAliases bounds the tenant id -> slug map.
const maxAliases = 10_000

// aliases maps tenant ids to slugs, learned from the sessions app.enter
// grants, so that a tenant named by id and by slug shares one rate and one
// share instead of getting two.
type aliases struct {
	mu sync.RWMutex
	m  map[uuid.UUID]string
}

// key is the admission key of a tenant key as a request names it: its
// slug when known.
func (a *aliases) key(tenant string) string {
	if len(tenant) == 36 {
		if id, err := uuid.Parse(tenant); err == nil {
			a.mu.RLock()
			slug, ok := a.m[id]
			a.mu.RUnlock()
			if ok {
				return slug
			}
			return id.String()
		}
	}
	return strings.ToLower(tenant)
}

func (a *aliases) learn(sess Session) {
	if sess.TenantID == uuid.Nil || sess.TenantSlug == "" {
		return
	}
	a.mu.RLock()
	known := a.m[sess.TenantID] == sess.TenantSlug
	a.mu.RUnlock()
	if known {
		return
	}
	a.mu.Lock()
	if a.m == nil || len(a.m) >= maxAliases {
		a.m = map[uuid.UUID]string{}
	}
	a.m[sess.TenantID] = sess.TenantSlug
	a.mu.Unlock()
}
