package httpx_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/limits"
	"github.com/pgtenant/pgtenant/internal/pgtest/kit"
	"github.com/pgtenant/pgtenant/internal/tenancy"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// TestRetryAfter: every 429 and 503 problem says when to retry: the
// refusal's own hint rounded up to whole seconds, else one second; other
// statuses carry no Retry-After.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	e := httpx.New(httpx.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, c := range []struct {
		err    error
		status int
		retry  string
	}{
		{tenancy.AsError(&limits.Refusal{Reason: limits.RateUser, RetryAfter: 2100 * time.Millisecond, Err: txscope.ErrRateLimited}), 429, "3"},
		{tenancy.AsError(&limits.Refusal{Reason: limits.ShareTenant, RetryAfter: time.Second, Err: txscope.ErrBusy}), 429, "1"},
		{tenancy.AsError(&limits.Refusal{Reason: limits.DBUnreachable, RetryAfter: 2 * time.Second, Err: fmt.Errorf("%w: refused", txscope.ErrUnavailable)}), 503, "2"},
		{tenancy.AsError(txscope.ErrUnavailable), 503, "1"},
		{context.DeadlineExceeded, 503, "1"},
		{tenancy.AsError(txscope.ErrNotFound), 404, ""},
	} {
		path := "/x" + fmt.Sprint(len(e.Routes()))
		err := c.err
		e.GET(path, func(echo.Context) error { return err })
		r := kit.Serve(e, httptest.NewRequest("GET", path, nil))
		require.Equal(t, c.status, r.Status, "%v", c.err)
		require.Equal(t, c.retry, r.Header.Get("Retry-After"), "%v", c.err)
		r.Problem(t)
	}
}

// TestUnknownCodeIsInternal: a *tenancy.Error whose code has no status
// (empty, misspelt) is answered as internal, with a documented code and
// none of its message; before, it went out as a 500 problem with that
// code, or none (found by FuzzFailure, whose corpus keeps the case).
func TestUnknownCodeIsInternal(t *testing.T) {
	t.Parallel()
	e := httpx.New(httpx.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for i, code := range []tenancy.Code{"", "no_such_code"} {
		path := fmt.Sprintf("/u%d", i)
		e.GET(path, func(echo.Context) error { return &tenancy.Error{Code: code, Message: "a message for nobody"} })
		r := kit.Serve(e, httptest.NewRequest("GET", path, nil))
		require.Equal(t, 500, r.Status)
		require.Equal(t, tenancy.CodeInternal, r.Problem(t).Code)
		require.NotContains(t, string(r.Body), "a message for nobody")
	}
}
