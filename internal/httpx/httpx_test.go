package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/tenancy"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

func TestPanicIsA500Problem(t *testing.T) {
	t.Parallel()
	e := httpx.New(httpx.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	e.GET("/boom", func(c echo.Context) error { panic("kaboom: secret detail") })
	r := kit.Serve(e, httptest.NewRequest("GET", "/boom", nil))
	require.Equal(t, 500, r.Status)
	require.Equal(t, tenancy.CodeInternal, r.Problem(t).Code)
	require.NotContains(t, string(r.Body), "kaboom")
	require.NotContains(t, string(r.Body), "goroutine")
}

// TestFailureMapping: every error that can reach the edge gets a stable
// code and status, and only a *tenancy.Error's Message reaches the body.
func TestFailureMapping(t *testing.T) {
	t.Parallel()
	secret := errors.New(`pq: duplicate key value violates unique constraint "projects_name_key"`)
	for _, c := range []struct {
		err    error
		code   tenancy.Code
		status int
	}{
		{&tenancy.Error{Code: tenancy.CodeValidation, Message: "some fields are invalid"}, tenancy.CodeValidation, 422},
		{fmt.Errorf("wrapped: %w", &tenancy.Error{Code: tenancy.CodeOwnerOnly, Message: "x"}), tenancy.CodeOwnerOnly, 403},
		{fmt.Errorf("%w: %w", txscope.ErrConflict, secret), tenancy.CodeConflict, 409},
		{txscope.ErrTenantNotFound, tenancy.CodeNotFound, 404},
		{txscope.ErrUnknownUser, tenancy.CodeUnknownUser, 403},
		{txscope.ErrRateLimited, tenancy.CodeRateLimited, 429},
		{txscope.ErrBusy, tenancy.CodeConcurrencyLimited, 429},
		{fmt.Errorf("%w: boom", auth.ErrUnauthenticated), httpx.CodeUnauthenticated, 401},
		{auth.ErrNotReady, tenancy.CodeUnavailable, 503},
		{context.DeadlineExceeded, tenancy.CodeUnavailable, 503},
		{echo.ErrNotFound, tenancy.CodeNotFound, 404},
		{echo.ErrMethodNotAllowed, httpx.CodeMethod, 405},
		{echo.NewHTTPError(http.StatusRequestEntityTooLarge), httpx.CodeTooLarge, 413},
		{echo.NewHTTPError(http.StatusTeapot), tenancy.CodeBadRequest, 400},
		{echo.NewHTTPError(http.StatusBadGateway), tenancy.CodeInternal, 500},
		{secret, tenancy.CodeInternal, 500},
	} {
		e := httpx.Failure(c.err)
		require.Equal(t, c.code, e.Code, "%v", c.err)
		require.Equal(t, c.status, httpx.Status(e.Code), "%v", c.err)
		require.NotContains(t, e.Message, "projects_name_key")
	}
}

// TestStatuses pins the status of every code the API documents; a code
// missing from the mapping would be a 500 in disguise.
func TestStatuses(t *testing.T) {
	t.Parallel()
	for code, status := range map[tenancy.Code]int{
		tenancy.CodeBadRequest: 400, tenancy.CodeInvalidID: 400, tenancy.CodeInvalidCursor: 400, tenancy.CodeInvalidLimit: 400,
		tenancy.CodeReasonRequired: 400, httpx.CodeInvalidJSON: 400, httpx.CodeUnknownField: 400,
		httpx.CodeUnauthenticated: 401,
		tenancy.CodeForbidden:     403, tenancy.CodeUnknownUser: 403, tenancy.CodeOwnerOnly: 403, httpx.CodeCSRF: 403,
		tenancy.CodeNotFound: 404, httpx.CodeMethod: 405, tenancy.CodeConflict: 409, httpx.CodeTooLarge: 413,
		httpx.CodeMediaType: 415, tenancy.CodeValidation: 422,
		tenancy.CodeInternal: 500, "no_such_code": 500, tenancy.CodeUnavailable: 503,
		tenancy.CodeRateLimited: 429, tenancy.CodeConcurrencyLimited: 429,
	} {
		require.Equal(t, status, httpx.Status(code), code)
	}
}

// TestEveryAnswerCarriesTheCommonHeaders: a body refused by the body
// limit (which runs before any handler) and an unknown route carry
// no-store, nosniff and the request id like a handler's answer. Before,
// the limit ran before the middleware that sets them.
func TestEveryAnswerCarriesTheCommonHeaders(t *testing.T) {
	t.Parallel()
	e := httpx.New(httpx.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), BodyLimit: 1024})
	e.POST("/things", func(c echo.Context) error { return c.NoContent(204) })
	big := httptest.NewRequest("POST", "/things", strings.NewReader(strings.Repeat("x", 2048)))
	big.Header.Set("Content-Type", "application/json")
	for name, req := range map[string]*http.Request{
		"413":     big,
		"404":     httptest.NewRequest("GET", "/nope", nil),
		"405":     httptest.NewRequest("DELETE", "/things", nil),
		"success": httptest.NewRequest("POST", "/things", strings.NewReader("{}")),
	} {
		r := kit.Serve(e, req)
		require.Equal(t, map[string]int{"413": 413, "404": 404, "405": 405, "success": 204}[name], r.Status, name)
		require.Equal(t, "no-store", r.Header.Get("Cache-Control"), name)
		require.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"), name)
		require.NotEmpty(t, r.Header.Get("X-Request-Id"), name)
		if r.Status >= 400 {
			require.NotEmpty(t, r.Problem(t).Code, name)
		}
	}
}

// TestHeadAnswersLikeGet: HEAD on a GET route gets the GET answer's status
// and headers and no body, errors included; HEAD where no GET exists is 405.
func TestHeadAnswersLikeGet(t *testing.T) {
	t.Parallel()
	e := httpx.New(httpx.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var sawMethod string
	e.GET("/thing", func(c echo.Context) error {
		sawMethod = c.Request().Method
		c.Response().Header().Set("ETag", `"v1"`)
		return c.JSON(200, map[string]string{"a": "b"})
	})
	e.GET("/missing", func(c echo.Context) error { return &tenancy.Error{Code: tenancy.CodeNotFound, Message: "not found"} })
	e.POST("/action", func(c echo.Context) error { return c.NoContent(204) })

	get := kit.Serve(e, httptest.NewRequest("GET", "/thing", nil))
	head := kit.Serve(e, httptest.NewRequest("HEAD", "/thing", nil))
	require.Equal(t, "HEAD", sawMethod, "the handler sees the real method")
	require.Equal(t, 200, head.Status)
	require.Empty(t, head.Body)
	require.NotEmpty(t, get.Body)
	for _, h := range []string{"Content-Type", "ETag", "Cache-Control", "X-Content-Type-Options"} {
		require.Equal(t, get.Header.Get(h), head.Header.Get(h), h)
	}

	r := kit.Serve(e, httptest.NewRequest("HEAD", "/missing", nil))
	require.Equal(t, 404, r.Status)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	require.Empty(t, r.Body)
	require.Equal(t, 405, kit.Serve(e, httptest.NewRequest("HEAD", "/action", nil)).Status)
	require.Equal(t, 404, kit.Serve(e, httptest.NewRequest("HEAD", "/nowhere", nil)).Status)
}
