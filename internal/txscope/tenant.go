package txscope

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtenant/pgtenant/internal/dbgen"
	"github.com/pgtenant/pgtenant/internal/limits"
)

// enterSQL establishes the context and bounds the transaction: app.enter,
// then, in the same statement, the timeouts (what timeoutsSQL sets for the
// admin scope) and plan_cache_mode. The set_config calls are in the target
// list, so they run after app.enter has returned its row (its RESET ALL
// would undo anything set before it) and not at all when it raises;
// set_config(..., true) ends with the transaction. One statement rather
// than two saves a statement per scope (issue 14, docs/benchmarks.md).
//
// plan_cache_mode = force_generic_plan: a query with a LIMIT parameter
// (every page) otherwise gets a custom plan, planned again on every
// execution, because its generic plan's estimate assumes an unknown limit:
// 62 µs of planning per page against 54 µs of execution (make
// bench-profile). Every sqlc query's generic plan is checked by
// TestExplainQueries (internal/perf): index scans of the tenant tables,
// no sort on a page. Set per transaction, not as a connection parameter,
// so that it holds through pgbouncer too.
//
// Its arguments are bind parameters: the identity, tenant key and proof
// never become SQL text (nor appear in pg_stat_activity).
const enterSQL = `SELECT e.user_id, e.is_owner, e.tenant_id, e.tenant_slug, e.role,
       pg_catalog.set_config('statement_timeout', $5, true) IS NOT NULL
   AND pg_catalog.set_config('lock_timeout', $6, true) IS NOT NULL
   AND pg_catalog.set_config('idle_in_transaction_session_timeout', $7, true) IS NOT NULL
   AND pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true) IS NOT NULL
FROM app.enter($1, $2, $3, $4) e`

// Tx is a unit of work inside a scope. Q is bound to it and must not be kept
// after the callback returns.
type Tx struct {
	Q *dbgen.Queries
	s sessionSource
}

type sessionSource interface {
	session(ctx context.Context) (Session, error)
}

// Session returns what app.enter granted. In a Read scope that has not run a
// statement yet, it costs one round trip.
func (t *Tx) Session(ctx context.Context) (Session, error) { return t.s.session(ctx) }

// Read runs fn with a querier whose every statement runs in its own READ
// ONLY transaction carrying who's context, sent in one round trip with it:
// each statement is pipelined behind app.enter and the timeouts
// (enterSQL), so a one-query read costs one round trip, like the bare
// query, and every statement is checked against the membership and tenant
// status of that moment.
//
// At READ COMMITTED, which pgtenant uses, a multi-statement transaction
// gives each statement a fresh snapshot anyway, so reads see the same data
// either way; only transaction_timestamp() differs per statement. Use Write
// when statements must share a transaction.
//
// Read returns ErrUnknownUser or ErrTenantNotFound (from the first
// statement, whose rows fn never sees) when who may not read.
//
// A scope whose first entry fails because of state planted on the pooled
// connection (taintedEntry) runs once more on another connection: nothing
// of it ran, and the planted state must not cost the request either.
func (s *Scope) Read(ctx context.Context, who Who, fn func(*Tx) error) error {
	again, err := s.readOnce(ctx, who, fn)
	if again && ctx.Err() == nil {
		_, err = s.readOnce(ctx, who, fn)
	}
	return err
}

// readOnce is one attempt of Read; again reports that its first statement
// failed on a tainted connection, before fn saw a row.
func (s *Scope) readOnce(ctx context.Context, who Who, fn func(*Tx) error) (again bool, err error) {
	c, done, err := s.acquireFor(ctx, who)
	if err != nil {
		return false, err
	}
	defer done()
	rc := &readConn{conn: c.Conn(), who: who, s: s}
	defer func() { s.release(c, err, rc.enterFailed) }()
	err = fn(&Tx{Q: dbgen.New(rc), s: rc})
	first := rc.sends == 1 // fn has seen no row yet
	if rc.err != nil {
		// The scope's own verdict wins over what fn made of it.
		return first && rc.enterFailed && taintedEntry(rc.err), rc.err
	}
	// A name that did not resolve on the first statement: a prepared
	// statement planted under pgx's name, dropped by app.enter.
	return first && unresolvedName(err), s.failed(ctx, rc.conn, err)
}

// Write runs fn in one read-write transaction as who. BEGIN, app.enter and
// the transaction's timeouts (enterSQL) go out in one round trip; the
// callback's statements follow; COMMIT when fn
// returns nil, ROLLBACK (with a context that outlives ctx's cancellation)
// when it returns an error or panics.
//
// Unless who.SkipRoleCheck, Write returns ErrForbidden before fn runs when
// the user's role may not write, and ErrTenantNotFound when who names a
// tenant the user may not act in. The database enforces both again.
//
// Like Read, a Write whose entry fails on a tainted connection runs once
// more on another one (fn has not run).
func (s *Scope) Write(ctx context.Context, who Who, fn func(*Tx) error) error {
	again, err := s.writeOnce(ctx, who, fn)
	if again && ctx.Err() == nil {
		_, err = s.writeOnce(ctx, who, fn)
	}
	return err
}

// writeOnce is one attempt of Write; again reports that its entry failed
// on a tainted connection, before fn ran.
func (s *Scope) writeOnce(ctx context.Context, who Who, fn func(*Tx) error) (again bool, err error) {
	c, done, err := s.acquireFor(ctx, who)
	if err != nil {
		return false, err
	}
	defer done()
	entering := true
	defer func() { s.release(c, err, entering) }()
	conn := c.Conn()
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	if err := s.queueEnter(ctx, b, who, false); err != nil {
		return false, err
	}
	br := conn.SendBatch(ctx, b)
	_, err = br.Exec()
	var sess Session
	if err == nil {
		sess, err = scanSession(br.QueryRow(), who)
	}
	if err == nil {
		s.adm.aliases.learn(sess)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && who.Tenant != "" && !who.SkipRoleCheck && !sess.Role.CanWrite() {
		err = ErrForbidden
	}
	if err != nil {
		s.rollback(ctx, conn)
		err = s.failed(ctx, conn, err)
		s.forgetKey(err)
		return taintedEntry(err), err
	}
	entering = false

	defer func() {
		if p := recover(); p != nil {
			s.rollback(ctx, conn)
			panic(p)
		}
	}()
	if err := fn(&Tx{Q: dbgen.New(conn), s: fixedSession(sess)}); err != nil {
		s.rollback(ctx, conn)
		return false, s.failed(ctx, conn, err)
	}
	return false, s.failed(ctx, conn, commit(ctx, conn))
}

// failed maps the error of a scope's statement (mapError), and reports a
// connection that broke under it (a killed backend, a server shutting
// down) as ErrUnavailable: whatever the driver made of the broken
// socket, it is not the request's fault and not an internal error. The
// request's own end (a cancelled or expired context) is reported as such.
// A Write whose connection broke during COMMIT may or may not have
// committed: the client sees 503 and must not count the write as done.
func (s *Scope) failed(ctx context.Context, conn *pgx.Conn, err error) error {
	if err == nil {
		return nil
	}
	m := mapError(err)
	if errors.Is(m, ErrUnavailable) || !conn.PgConn().IsClosed() {
		return m
	}
	if ctx.Err() != nil {
		return mapError(ctx.Err())
	}
	return &limits.Refusal{Reason: limits.ConnectionLost, RetryAfter: retryBusy, Err: fmt.Errorf("%w: connection lost: %w", ErrUnavailable, err)}
}

// commit sends COMMIT and reports a transaction that had already failed
// (Postgres answers COMMIT with ROLLBACK then) as an error.
func commit(ctx context.Context, conn *pgx.Conn) error {
	tag, err := conn.Exec(ctx, "COMMIT")
	if err != nil {
		return fmt.Errorf("txscope: commit: %w", err)
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// rollback ends the transaction even when ctx is already cancelled: the
// request may be gone, the transaction must still end. If it cannot, the
// connection is left non-idle and release destroys it.
func (s *Scope) rollback(ctx context.Context, conn *pgx.Conn) {
	if conn.PgConn().IsClosed() || conn.PgConn().TxStatus() == 'I' {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if _, err := conn.Exec(rctx, "ROLLBACK"); err != nil {
		s.log.Warn("txscope: rollback failed; the connection will be destroyed", "err", err)
	}
}

// queueEnter queues the context statement (enterSQL) for who, with a fresh
// proof and the timeouts of a transaction run under ctx: the one place that
// knows its arguments.
func (s *Scope) queueEnter(ctx context.Context, b *pgx.Batch, who Who, readOnly bool) error {
	proof, err := s.proof(ctx, who, readOnly)
	if err != nil {
		return err
	}
	st, lock, idle := s.adm.timeouts(ctx)
	b.Queue(enterSQL, who.Email, who.Tenant, readOnly, proof, st, lock, idle)
	return nil
}

type fixedSession Session

func (f fixedSession) session(context.Context) (Session, error) { return Session(f), nil }

// scanSession reads app.enter's row and turns what it did not grant into
// the scope's errors.
func scanSession(row pgx.Row, who Who) (Session, error) {
	var (
		sess     Session
		userID   *uuid.UUID
		isOwner  *bool
		tenantID *uuid.UUID
		slug     *string
		role     *string
	)
	// nil skips enterSQL's last column (the settings it made).
	if err := row.Scan(&userID, &isOwner, &tenantID, &slug, &role, nil); err != nil {
		return Session{}, err
	}
	if userID == nil {
		return Session{}, ErrUnknownUser
	}
	sess.UserID, sess.IsOwner = *userID, isOwner != nil && *isOwner
	if tenantID != nil {
		sess.TenantID = *tenantID
		sess.TenantSlug = *slug
		sess.Role = Role(*role)
	}
	if who.Tenant != "" && tenantID == nil {
		return sess, ErrTenantNotFound
	}
	return sess, nil
}

// readConn is the dbgen.DBTX of a Read scope.
type readConn struct {
	s       *Scope
	conn    *pgx.Conn
	who     Who
	entered bool
	sess    Session
	err     error // sticky: once the context was refused, nothing runs
	// enterFailed: the context statement itself failed (release destroys
	// a connection whose context statement timed out).
	enterFailed bool
	sends       int // batches sent: app.enter, and a statement of fn
}

var _ dbgen.DBTX = (*readConn)(nil)

func (r *readConn) session(ctx context.Context) (Session, error) {
	if r.err != nil || r.entered {
		return r.sess, r.err
	}
	br := r.send(ctx, nil)
	return r.sess, errors.Join(r.err, closeBatch(br))
}

// send pipelines app.enter (with a fresh proof) and, when stmt is not nil,
// the statement, and reads app.enter's result. The caller reads the
// statement's result and closes the batch (nil when r.err is set before
// anything was sent).
func (r *readConn) send(ctx context.Context, stmt *pgx.QueuedQuery) pgx.BatchResults {
	r.sends++
	b := &pgx.Batch{}
	if err := r.s.queueEnter(ctx, b, r.who, true); err != nil {
		r.err = err
		return nil
	}
	if stmt != nil {
		b.Queue(stmt.SQL, stmt.Arguments...)
	}
	br := r.conn.SendBatch(ctx, b)
	sess, err := scanSession(br.QueryRow(), r.who)
	if err == nil {
		r.s.adm.aliases.learn(sess)
	}
	if err != nil {
		r.err = r.s.failed(ctx, r.conn, err)
		r.s.forgetKey(r.err)
		r.enterFailed = true
		return br
	}
	r.sess, r.entered = sess, true
	return br
}

// closeBatch closes br, which send leaves nil when it sent nothing.
func closeBatch(br pgx.BatchResults) error {
	if br == nil {
		return nil
	}
	return br.Close()
}

func (r *readConn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if r.err != nil {
		return pgconn.CommandTag{}, r.err
	}
	br := r.send(ctx, &pgx.QueuedQuery{SQL: sql, Arguments: args})
	if r.err != nil {
		closeBatch(br)
		return pgconn.CommandTag{}, r.err
	}
	tag, err := br.Exec()
	return tag, errors.Join(err, br.Close())
}

func (r *readConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if r.err != nil {
		return nil, r.err
	}
	br := r.send(ctx, &pgx.QueuedQuery{SQL: sql, Arguments: args})
	if r.err != nil {
		closeBatch(br)
		return nil, r.err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, errors.Join(err, br.Close())
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (r *readConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := r.Query(ctx, sql, args...)
	return &oneRow{rows: rows, err: err}
}

// batchRows closes its batch when closed, and reports the batch's error
// (the implicit commit at Sync) through Err.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

func (r *batchRows) Close() {
	if r.br == nil {
		return
	}
	r.Rows.Close()
	if err := r.br.Close(); err != nil && r.Rows.Err() == nil {
		r.err = err
	}
	r.br = nil
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// oneRow is pgx.Row over batchRows, with pgx's QueryRow semantics.
type oneRow struct {
	rows pgx.Rows
	err  error
}

func (o *oneRow) Scan(dest ...any) error {
	if o.err != nil {
		return o.err
	}
	defer o.rows.Close()
	if !o.rows.Next() {
		if err := o.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := o.rows.Scan(dest...); err != nil {
		return err
	}
	o.rows.Close()
	return o.rows.Err()
}

// Compile-time checks of the adapters' shapes.
var (
	_ pgx.Rows = (*batchRows)(nil)
	_ pgx.Row  = (*oneRow)(nil)
)
