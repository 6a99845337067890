package telemetry

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/pgtenant/pgtenant/internal/buildinfo"
	"github.com/pgtenant/pgtenant/internal/reqctx"
)

// Tracing makes a span per HTTP request and one per database statement
// (its children), with the tenant and user ids the database resolved on
// the request span. SQL text goes on statement spans; arguments never do
// (they hold emails and user input).
type Tracing struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	shutdown   func(context.Context) error
}

// NewTracing traces with tp (tests pass an SDK provider with an in-memory
// exporter).
func NewTracing(tp trace.TracerProvider) *Tracing {
	return &Tracing{
		tracer:     tp.Tracer("github.com/pgtenant/pgtenant"),
		propagator: propagation.TraceContext{},
		shutdown:   func(context.Context) error { return nil },
	}
}

// TracingFromEnv builds tracing from the standard OpenTelemetry variables,
// or returns nil (no tracing) unless OTEL_TRACES_EXPORTER=otlp. The
// specification's default exporter is otlp; pgtenant's is none, so a
// server never sends spans to a collector nobody configured. Spans go out
// over OTLP/HTTP (protobuf), batched; the SDK reads the rest itself:
// OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318) or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, _HEADERS, _TIMEOUT, _COMPRESSION,
// OTEL_SERVICE_NAME (default pgtenant), OTEL_RESOURCE_ATTRIBUTES,
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on),
// OTEL_BSP_*. OTEL_SDK_DISABLED=true turns tracing off whatever else is set.
func TracingFromEnv(ctx context.Context, getenv func(string) string) (*Tracing, error) {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return nil, nil
	}
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "", "none":
		return nil, nil
	case "otlp":
	default:
		return nil, fmt.Errorf("config: OTEL_TRACES_EXPORTER=%s is not supported: use otlp (OTLP/HTTP) or none", exp)
	}
	if p := getenv("OTEL_EXPORTER_OTLP_PROTOCOL") + getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"); p != "" && !strings.HasPrefix(p, "http/protobuf") {
		return nil, fmt.Errorf("config: OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported: pgtenant exports over http/protobuf", p)
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	// Later options win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override the defaults.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "pgtenant"), attribute.String("service.version", buildinfo.Get().Version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	t := NewTracing(tp)
	t.shutdown = tp.Shutdown
	return t, nil
}

// Shutdown flushes the spans still queued.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.shutdown(ctx) }

// Middleware starts the request span (joining the caller's trace when the
// request carries a W3C traceparent) and ends it with the status, and the
// tenant and user ids the database resolved.
func (t *Tracing) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ctx := t.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		route := routeOf(c)
		ctx, span := t.tracer.Start(ctx, r.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				attribute.String("http.request.method", r.Method),
				attribute.String("http.route", route),
				attribute.String("url.path", r.URL.Path),
				attribute.String("pgtenant.request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			))
		defer span.End()
		c.SetRequest(r.WithContext(ctx))
		err := next(c)
		status := c.Response().Status
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if user, tenant := reqctx.From(ctx).IDs(); tenant != uuid.Nil || user != uuid.Nil {
			if tenant != uuid.Nil {
				span.SetAttributes(attribute.String("pgtenant.tenant_id", tenant.String()))
			}
			if user != uuid.Nil {
				span.SetAttributes(attribute.String("enduser.id", user.String()))
			}
		}
		if status >= 500 {
			span.SetStatus(codes.Error, fmt.Sprintf("HTTP %d", status))
		}
		return err
	}
}

// QueryTracer returns the pgx tracer that makes the statement spans:
// one per query, and one per batch with a child per statement in it (a
// read scope pipelines app.enter and its statement as one batch).
func (t *Tracing) QueryTracer() pgx.QueryTracer { return &dbTracer{t: t.tracer} }

type dbTracer struct{ t trace.Tracer }

var (
	_ pgx.QueryTracer = (*dbTracer)(nil)
	_ pgx.BatchTracer = (*dbTracer)(nil)
)

type dbSpanKey struct{}

// batchState times the statements of a batch: pgx reports each after its
// result is read, so a statement's span runs from the end of the previous
// one (or the batch's start).
type batchState struct {
	span trace.Span
	last time.Time
}

func (d *dbTracer) start(ctx context.Context, sql string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	opts = append(opts, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system", "postgresql"),
		attribute.String("db.statement", sql),
	))
	return d.t.Start(ctx, statementName(sql), opts...)
}

func (d *dbTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	ctx, span := d.start(ctx, data.SQL)
	return context.WithValue(ctx, dbSpanKey{}, span)
}

func (d *dbTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	if span, ok := ctx.Value(dbSpanKey{}).(trace.Span); ok {
		end(span, data.Err)
	}
}

func (d *dbTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	ctx, span := d.t.Start(ctx, "batch", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system", "postgresql"),
		attribute.Int("db.batch.size", data.Batch.Len()),
	))
	return context.WithValue(ctx, dbSpanKey{}, &batchState{span: span, last: time.Now()})
}

func (d *dbTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	b, ok := ctx.Value(dbSpanKey{}).(*batchState)
	if !ok {
		return
	}
	_, span := d.start(trace.ContextWithSpan(ctx, b.span), data.SQL, trace.WithTimestamp(b.last))
	b.last = time.Now()
	end(span, data.Err)
}

func (d *dbTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	if b, ok := ctx.Value(dbSpanKey{}).(*batchState); ok {
		end(b.span, data.Err)
	}
}

func end(span trace.Span, err error) {
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		span.RecordError(err)
		span.SetStatus(codes.Error, "statement failed")
	}
	span.End()
}

var sqlcName = regexp.MustCompile(`^-- name: (\w+) :`)

// statementName names a span after the sqlc query ("ProjectGet"), the
// context gate ("app.enter") or the statement's first word ("BEGIN").
func statementName(sql string) string {
	if m := sqlcName.FindStringSubmatch(sql); m != nil {
		return m[1]
	}
	if strings.Contains(sql, "app.enter(") {
		return "app.enter"
	}
	word, _, _ := strings.Cut(strings.TrimSpace(sql), " ")
	return strings.ToUpper(word)
}

// ComposeTracers combines pgx tracers (nil ones are skipped): each sees
// the queries, batches and prepares it has the interface for, in order.
func ComposeTracers(tracers ...pgx.QueryTracer) pgx.QueryTracer {
	var c composite
	for _, t := range tracers {
		if t != nil {
			c = append(c, t)
		}
	}
	switch len(c) {
	case 0:
		return nil
	case 1:
		return c[0]
	}
	return c
}

type composite []pgx.QueryTracer

var (
	_ pgx.BatchTracer   = composite(nil)
	_ pgx.PrepareTracer = composite(nil)
)

// chain passes ctx through the start hook of every tracer with interface
// T; each stores its own state in the context it returns.
func chain[T any](c composite, ctx context.Context, start func(T, context.Context) context.Context) context.Context {
	for _, t := range c {
		if x, ok := t.(T); ok {
			ctx = start(x, ctx)
		}
	}
	return ctx
}

// each calls the hook of every tracer with interface T (a chain whose
// context nobody reads).
func each[T any](c composite, hook func(T)) {
	chain(c, context.Background(), func(x T, ctx context.Context) context.Context { hook(x); return ctx })
}

func (c composite) TraceQueryStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return chain(c, ctx, func(t pgx.QueryTracer, ctx context.Context) context.Context { return t.TraceQueryStart(ctx, conn, d) })
}

func (c composite) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryEndData) {
	each(c, func(t pgx.QueryTracer) { t.TraceQueryEnd(ctx, conn, d) })
}

func (c composite) TraceBatchStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	return chain(c, ctx, func(t pgx.BatchTracer, ctx context.Context) context.Context { return t.TraceBatchStart(ctx, conn, d) })
}

func (c composite) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, d pgx.TraceBatchQueryData) {
	each(c, func(t pgx.BatchTracer) { t.TraceBatchQuery(ctx, conn, d) })
}

func (c composite) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, d pgx.TraceBatchEndData) {
	each(c, func(t pgx.BatchTracer) { t.TraceBatchEnd(ctx, conn, d) })
}

func (c composite) TracePrepareStart(ctx context.Context, conn *pgx.Conn, d pgx.TracePrepareStartData) context.Context {
	return chain(c, ctx, func(t pgx.PrepareTracer, ctx context.Context) context.Context {
		return t.TracePrepareStart(ctx, conn, d)
	})
}

func (c composite) TracePrepareEnd(ctx context.Context, conn *pgx.Conn, d pgx.TracePrepareEndData) {
	each(c, func(t pgx.PrepareTracer) { t.TracePrepareEnd(ctx, conn, d) })
}
