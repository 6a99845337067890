package telemetry_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/telemetry"
)

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func byName(spans []sdktrace.ReadOnlySpan, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// TestTracesRequestAndStatements: a span per request, with the tenant and
// user the database resolved; a span per statement beneath it (a read
// pipelines app.enter and its statement as one batch), with the SQL and
// never the arguments; the caller's traceparent is joined; the round-trip
// counter still sees everything (the tracers compose).
func TestTracesRequestAndStatements(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tr := telemetry.NewTracing(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	app := apiApp(t, func(c *kit.AppConfig) { c.Observe, c.Tracer = tr.Middleware, tr.QueryTracer() })

	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req := kit.Request(t, pgtest.AliceEmail, "GET", "/v1/tenants/tenant-a/projects/"+app.ProjectA.String(), nil)
	req.Header.Set("traceparent", parent)
	// A warm-up request: the scope reads the context keys on its first use
	// (through the admin pool), which is not what this test counts.
	require.Equal(t, 200, kit.Serve(app.Handler, kit.Request(t, pgtest.AliceEmail, "GET", "/v1/tenants/tenant-a/projects", nil)).Status)
	rec.Reset()
	app.Queries.Reset()
	r := kit.Serve(app.Handler, req)
	require.Equal(t, 200, r.Status)
	require.Equal(t, int64(1), app.Queries.Load(), "the round-trip counter composes with the tracer")

	spans := rec.Ended()
	server := byName(spans, "GET /v1/tenants/:tenant/projects/:project")
	require.Len(t, server, 1)
	srv := server[0]
	require.Equal(t, trace.SpanKindServer, srv.SpanKind())
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", srv.SpanContext().TraceID().String(), "joins the caller's trace")
	a := attrs(srv)
	require.Equal(t, app.TenantA.String(), a["pgtenant.tenant_id"].AsString())
	require.Equal(t, app.Alice.String(), a["enduser.id"].AsString())
	require.Equal(t, int64(200), a["http.response.status_code"].AsInt64())
	require.Equal(t, "/v1/tenants/:tenant/projects/:project", a["http.route"].AsString())
	require.Equal(t, r.Header.Get("X-Request-Id"), a["pgtenant.request_id"].AsString())

	batch := byName(spans, "batch")
	require.Len(t, batch, 1)
	require.Equal(t, srv.SpanContext().SpanID(), batch[0].Parent().SpanID(), "statements are the request's children")
	for _, name := range []string{"app.enter", "ProjectGet"} {
		s := byName(spans, name)
		require.Len(t, s, 1, name)
		require.Equal(t, batch[0].SpanContext().SpanID(), s[0].Parent().SpanID(), name)
		require.Equal(t, trace.SpanKindClient, s[0].SpanKind())
		require.Equal(t, "postgresql", attrs(s[0])["db.system"].AsString())
	}
	require.Contains(t, attrs(byName(spans, "ProjectGet")[0])["db.statement"].AsString(), "FROM projects")
	for _, s := range spans {
		for _, kv := range s.Attributes() {
			require.NotContains(t, kv.Value.String(), pgtest.AliceEmail, "%s %s: no argument reaches a span", s.Name(), kv.Key)
		}
	}

	// A write: BEGIN and app.enter in one batch, the UPDATE, COMMIT.
	before := len(rec.Ended())
	r = app.Do(t, pgtest.AliceEmail, "PATCH", "/v1/tenants/tenant-a/projects/"+app.ProjectA.String(), map[string]any{"name": "traced"})
	require.Equal(t, 200, r.Status)
	var names []string
	for _, s := range rec.Ended()[before:] {
		names = append(names, s.Name())
	}
	require.Subset(t, names, []string{"BEGIN", "app.enter", "batch", "ProjectUpdate", "COMMIT", "PATCH /v1/tenants/:tenant/projects/:project"})
}

// TestTracingIsOffByDefault: nothing but OTEL_TRACES_EXPORTER=otlp turns
// tracing on; an exporter pgtenant does not ship is a configuration error
// naming the variable.
func TestTracingIsOffByDefault(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{
		{},
		{"OTEL_TRACES_EXPORTER": "none"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
		{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"},
	} {
		tr, err := telemetry.TracingFromEnv(context.Background(), func(k string) string { return env[k] })
		require.NoError(t, err, env)
		require.Nil(t, tr, env)
	}
	for _, env := range []map[string]string{
		{"OTEL_TRACES_EXPORTER": "zipkin"},
		{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
	} {
		_, err := telemetry.TracingFromEnv(context.Background(), func(k string) string { return env[k] })
		require.ErrorContains(t, err, "config: OTEL_", env)
	}
}

// TestTracingExportsOverOTLPHTTP: configured by the standard variables
// alone, spans reach an OTLP/HTTP collector (here a local stand-in) with
// the service name, once flushed at shutdown.
func TestTracingExportsOverOTLPHTTP(t *testing.T) {
	var posts atomic.Int64
	var body atomic.Value
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" {
			b, _ := io.ReadAll(r.Body)
			body.Store(string(b))
			posts.Add(1)
		}
		w.WriteHeader(200)
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "pgtenant-test")
	t.Setenv("OTEL_TRACES_SAMPLER", "always_on")
	tr, err := telemetry.TracingFromEnv(context.Background(), func(k string) string {
		if k == "OTEL_TRACES_EXPORTER" {
			return "otlp"
		}
		return ""
	})
	require.NoError(t, err)
	require.NotNil(t, tr)

	e := httpx.New(httpx.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Observe: tr.Middleware})
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(200, map[string]string{"status": "ok"}) })
	require.Equal(t, 200, kit.Serve(e, httptest.NewRequest("GET", "/healthz", nil)).Status)
	require.NoError(t, tr.Shutdown(context.Background()))
	require.Equal(t, int64(1), posts.Load())
	got, _ := body.Load().(string)
	require.True(t, strings.Contains(got, "pgtenant-test") && strings.Contains(got, "GET /healthz"), "service name and span name in the export")
}
