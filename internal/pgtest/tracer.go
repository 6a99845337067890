package pgtest

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// RoundTrips is a pgx tracer that counts round trips to the server: each
// query sent outside a batch, each batch (however many statements it
// pipelines) and each prepare pgx issues for a statement it has not cached.
// Tests pin the cost of a scope with it, prove that a refused request ran
// no query, and benchmarks report round trips per operation. Set it as
// txscope.Config.Tracer or pgx.ConnConfig.Tracer; it is safe for
// concurrent use.
type RoundTrips struct {
	n atomic.Int64
	// Sent, when set, sees the SQL of every query and batched query, as
	// sent (the caller makes it safe for concurrent use if it needs to be).
	Sent func(sql string)
}

// Compile-time checks: it traces queries, batches and prepares.
var (
	_ pgx.QueryTracer   = (*RoundTrips)(nil)
	_ pgx.BatchTracer   = (*RoundTrips)(nil)
	_ pgx.PrepareTracer = (*RoundTrips)(nil)
)

// Load returns the round trips counted so far.
func (c *RoundTrips) Load() int64 { return c.n.Load() }

// Reset starts counting from zero.
func (c *RoundTrips) Reset() { c.n.Store(0) }

func (c *RoundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	c.sent(d.SQL)
	return ctx
}

func (c *RoundTrips) sent(sql string) {
	if c.Sent != nil {
		c.Sent(sql)
	}
}

func (c *RoundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *RoundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *RoundTrips) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.sent(d.SQL)
}
func (c *RoundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (c *RoundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *RoundTrips) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}
