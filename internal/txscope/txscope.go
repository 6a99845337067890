// Package txscope is the only way pgtenant code reaches the database.
//
// Guarantee: no *dbgen.Queries exists outside a scope. The connection pools
// are unexported; a querier is handed to a callback, bound to one unit of
// work, and is dead when the callback returns. A test (noquerier_test.go)
// fails when any other package builds a querier or opens a pool.
//
// Tenant scopes (Read, Write) run as the runtime role with row-level
// security. Their context is established by app.enter(email, tenant,
// read_only, proof) in the same round trip as BEGIN (Write) or as the first
// statement itself (Read): the database checks the proof (an HMAC the scope
// signs with a key only the server reads, proof.go), resolves the verified
// identity to a user, checks membership and tenant status, and sets
// app.user_id, app.tenant_id, app.role and app.is_owner with set_config(...,
// true), sealed to this backend and transaction, which ends with the
// transaction. A session the server did not hand a proof to reads and
// writes nothing, whatever it sets.
//
// The Admin scope runs on a separate BYPASSRLS pool, demands a reason, and
// writes an audit row in the same transaction as the work.
//
// Every scope is bounded (admission.go): tenant scopes pass the user's and
// the tenant's request rate and share of the pool before they get a
// connection, the wait for one is bounded, and every transaction runs with
// a statement_timeout and lock_timeout no longer than what its context has
// left. A database that cannot be reached is reported at once (health.go).
package txscope

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgtenant/pgtenant/internal/limits"
)

// Role is a user's role in the tenant of a scope, as the database resolved it.
type Role string

// The three roles. Owner is global (a platform operator); Partner and Client
// Viewer come from a membership in the tenant.
const (
	RoleOwner        Role = "owner"
	RolePartner      Role = "partner"
	RoleClientViewer Role = "client_viewer"
)

// CanWrite reports whether the role may change tenant data.
func (r Role) CanWrite() bool { return r == RoleOwner || r == RolePartner }

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r == RoleOwner || r == RolePartner || r == RoleClientViewer }

// Who names the caller of a tenant scope.
type Who struct {
	// Email is the verified identity, normalized (see NormalizeEmail).
	Email string
	// Tenant is the tenant the request names, by slug or id; empty for
	// scopes that only need the user (GET /v1/me).
	Tenant string
	// SkipRoleCheck turns off the Go-side role check of Write (the API-level
	// RBAC). The database still refuses writes by roles that may not write.
	// Tests use it to prove that; handlers should not.
	SkipRoleCheck bool
}

// Session is what app.enter granted: the user and, when the scope named a
// tenant the user may act in, that tenant and the user's role there.
type Session struct {
	UserID     uuid.UUID
	IsOwner    bool
	TenantID   uuid.UUID // uuid.Nil when no tenant is in context
	TenantSlug string
	Role       Role // "" when no tenant is in context
}

// Config configures the pools.
type Config struct {
	// DatabaseURL is the runtime role (NOSUPERUSER, NOBYPASSRLS, owns
	// nothing). Without it, Read and Write return ErrNoRuntime (commands
	// that only do audited admin work leave it empty).
	DatabaseURL string
	// AdminDatabaseURL is the BYPASSRLS admin role; optional. Without it,
	// Admin returns ErrNoAdmin.
	AdminDatabaseURL string
	// MaxConns bounds each pool. Zero: the URL's pool_max_conns when it
	// has one, else 10.
	MaxConns int32
	// Tracer, when set, sees every query (tests count round trips with it).
	Tracer pgx.QueryTracer
	// Logger receives connection-level warnings (a connection destroyed
	// after a failed rollback, say). Default slog.Default().
	Logger *slog.Logger
	// KeyRefresh is how often the context key is re-read through the admin
	// pool (default DefaultKeyRefresh). Read and Write sign app.enter with
	// it, so they need AdminDatabaseURL too.
	KeyRefresh time.Duration

	// AcquireTimeout bounds how long a scope waits to start: for its
	// user's and tenant's shares and for a pool connection (default
	// DefaultAcquireTimeout). Past it the scope fails with ErrBusy (a
	// share) or ErrUnavailable (the pool), carrying a limits.Refusal.
	AcquireTimeout time.Duration
	// StatementTimeout and LockTimeout cap the statement_timeout and
	// lock_timeout every transaction runs with (defaults
	// DefaultStatementTimeout, DefaultLockTimeout); below the caps both
	// are what the scope's context has left.
	StatementTimeout, LockTimeout time.Duration
	// TenantShare and UserShare bound how many runtime connections one
	// tenant and one user hold at once. Zero: half the pool (at least
	// one); negative: no bound.
	TenantShare, UserShare int
	// TenantRate and UserRate limit how fast one tenant and one user start
	// tenant scopes; the zero Rate does not limit.
	TenantRate, UserRate limits.Rate
}

// Scope owns the pools. Create one per process with Open.
type Scope struct {
	pool   *pgxpool.Pool
	admin  *pgxpool.Pool
	log    *slog.Logger
	keys   keyring
	adm    admission
	health health
}

// Open connects the pools (lazily: Open does not fail on an unreachable
// server; Ping and SelfCheck do).
func Open(ctx context.Context, cfg Config) (*Scope, error) {
	if cfg.DatabaseURL == "" && cfg.AdminDatabaseURL == "" {
		return nil, errors.New("txscope: no database URL")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Scope{log: cfg.Logger}
	s.keys.every = cfg.KeyRefresh
	if s.keys.every <= 0 {
		s.keys.every = DefaultKeyRefresh
	}
	if cfg.DatabaseURL != "" {
		pool, err := newPool(ctx, cfg.DatabaseURL, cfg)
		if err != nil {
			return nil, fmt.Errorf("txscope: DATABASE_URL: %w", err)
		}
		s.pool = pool
	}
	poolSize := int32(defaultMaxConns)
	if s.pool != nil {
		poolSize = s.pool.Config().MaxConns
	}
	s.adm = newAdmission(cfg, poolSize)
	if cfg.AdminDatabaseURL != "" {
		admin, err := newPool(ctx, cfg.AdminDatabaseURL, cfg)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("txscope: ADMIN_DATABASE_URL: %w", err)
		}
		s.admin = admin
	}
	return s, nil
}

func newPool(ctx context.Context, connString string, cfg Config) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, errors.New("cannot parse the connection URL") // the parse error may quote the password
	}
	switch {
	case cfg.MaxConns > 0:
		pc.MaxConns = cfg.MaxConns
	case !setsPoolMaxConns(connString):
		pc.MaxConns = defaultMaxConns
	}
	// A server that does not answer (a host down, packets dropped) must not
	// hold a request for the kernel's TCP timeout; the URL's
	// connect_timeout wins when it has one.
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	pc.ConnConfig.Tracer = cfg.Tracer
	if pc.ConnConfig.RuntimeParams == nil {
		pc.ConnConfig.RuntimeParams = map[string]string{}
	}
	if _, ok := pc.ConnConfig.RuntimeParams["application_name"]; !ok {
		pc.ConnConfig.RuntimeParams["application_name"] = "pgtenant"
	}
	return pgxpool.NewWithConfig(ctx, pc)
}

// defaultMaxConns bounds a pool when neither Config.MaxConns nor the URL's
// pool_max_conns says otherwise.
const defaultMaxConns = 10

// setsPoolMaxConns reports whether a connection string (URL or key=value
// form) sets pgxpool's pool_max_conns itself.
func setsPoolMaxConns(connString string) bool {
	if u, err := url.Parse(connString); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u.Query().Has("pool_max_conns")
	}
	for _, f := range strings.Fields(connString) {
		if k, _, ok := strings.Cut(f, "="); ok && strings.TrimSpace(k) == "pool_max_conns" {
			return true
		}
	}
	return false
}

// Close closes the pools.
func (s *Scope) Close() {
	if s.pool != nil {
		s.pool.Close()
	}
	if s.admin != nil {
		s.admin.Close()
	}
}

// Ping checks that the runtime pool reaches the database.
func (s *Scope) Ping(ctx context.Context) error {
	if s.pool == nil {
		return ErrNoRuntime
	}
	return s.pool.Ping(ctx)
}

// rollbackTimeout bounds the rollback of a scope whose context has ended.
const rollbackTimeout = 5 * time.Second

// release returns c to its pool. A connection inside a transaction, in a
// failed transaction, mid-query or closed is destroyed instead, never
// reused, so no later scope can inherit its state: pgxpool's own Release
// does that check (pgx v5.12 pgxpool/conn.go: IsClosed, IsBusy, TxStatus
// != 'I' -> Destroy), and TestNonIdleConnectionIsDestroyed holds it to it.
// A connection app.enter found tainted is destroyed here as well, and so is
// one whose context statement (entering) timed out.
func (s *Scope) release(c *pgxpool.Conn, err error, entering bool) {
	if err == nil {
		s.markUp()
	}
	if entering && taintedEntry(err) || errors.Is(err, ErrTaintedSession) || unresolvedName(err) {
		s.log.Warn("txscope: destroying a connection that carried state planted outside pgtenant", "err", err)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = c.Hijack().Close(ctx)
		cancel()
		return
	}
	c.Release()
}

// taintedEntry reports a context statement (app.enter, or the statement
// pipelined with it) that failed because of state planted on the pooled
// connection outside pgtenant: tainted state app.enter refused, a name that
// no longer resolves, or a planted timeout. release destroys that
// connection, and the scope runs once more on another.
func taintedEntry(err error) bool {
	return errors.Is(err, ErrTaintedSession) || unresolvedName(err) || timedOut(err)
}

// unresolvedName reports a table, function, schema or prepared statement
// that did not resolve. sqlc checks every query against the schema, so on
// a healthy connection this does not happen; it does when something planted
// a session search_path before pgx prepared a statement (pgx sends Parse
// before app.enter's RESET ALL runs), or replaced a statement pgx had
// prepared (app.enter drops it, and pgx's Bind then finds none). The
// connection is destroyed so the next request gets a clean one.
func unresolvedName(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case pgerrcode.UndefinedTable, pgerrcode.UndefinedFunction, pgerrcode.UndefinedObject, pgerrcode.InvalidSchemaName,
		pgerrcode.InvalidSQLStatementName: // app.enter dropped a statement planted under a name pgx had cached
		return true
	}
	return false
}

// timedOut reports a statement cancelled by a timeout. While the context
// statement runs, that is a statement_timeout or lock_timeout planted at
// session level: it is armed when app.enter's statement starts, so the
// reset inside comes too late for that one statement, and the connection
// is destroyed. After app.enter, the scope's own timeouts (enterSQL)
// are in force, and a statement they cancel leaves a healthy connection.
func timedOut(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == pgerrcode.QueryCanceled || pgErr.Code == pgerrcode.LockNotAvailable)
}

// NormalizeEmail is the one normalization of identities to user rows:
// surrounding white space trimmed, lower-cased. Nothing else: no removal of
// dots or +tags, because the identity provider treats those as distinct
// mailboxes and so must we.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}
