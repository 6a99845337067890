package httpx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/httpx"
	"github.com/pgtenant/pgtenant/internal/limits"
	"github.com/pgtenant/pgtenant/internal/tenancy"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// body is what a create route decodes into.
type body struct {
	Name        string   `json:"name"`
	Description *string  `json:"description"`
	Tags        []string `json:"tags"`
	N           int      `json:"n"`
}

// FuzzDecodeJSON: any body and content type either decodes (and then the
// body was one JSON value, an object or null, and nothing else) or is
// refused with one of DecodeJSON's 4xx codes; it never panics.
func FuzzDecodeJSON(f *testing.F) {
	for _, b := range []string{`{"name":"x"}`, `{"name":"x","tenant_id":"t"}`, `{"name":1}`, `{"name":"x"}{}`, `{"name":"x"} `, ``, `null`, `[]`, `{"tags":["a",1]}`, `{"n":1e400}`, `{"name":"\ud800"}`, `{"description":null}`, `{`} {
		f.Add([]byte(b), "application/json")
	}
	f.Add([]byte(`{"name":"x"}`), "text/plain")
	f.Add([]byte(`{"name":"x"}`), "application/json; charset=utf-8")
	f.Add([]byte(`{"name":"x"}`), "application/json; =")
	e := echo.New()
	allowed := []tenancy.Code{httpx.CodeInvalidJSON, httpx.CodeUnknownField, httpx.CodeMediaType, httpx.CodeTooLarge}
	f.Fuzz(func(t *testing.T, b []byte, ct string) {
		req := httptest.NewRequest("POST", "/", bytes.NewReader(b))
		req.Header.Set("Content-Type", ct)
		c := e.NewContext(req, httptest.NewRecorder())
		var dst body
		err := httpx.DecodeJSON(c, &dst)
		if err == nil {
			trimmed := bytes.TrimSpace(b)
			if !json.Valid(trimmed) || !(bytes.HasPrefix(trimmed, []byte("{")) || string(trimmed) == "null") {
				t.Fatalf("accepted %q (%q)", b, ct)
			}
			return
		}
		var te *tenancy.Error
		if !errors.As(err, &te) || !slices.Contains(allowed, te.Code) {
			t.Fatalf("%q (%q): %v is not one of DecodeJSON's refusals", b, ct, err)
		}
		if s := httpx.Status(te.Code); s < 400 || s > 499 {
			t.Fatalf("refusal %s is a %d", te.Code, s)
		}
		for _, fe := range te.Fields {
			if len(fe.Field) > 64 {
				t.Fatalf("a field name of %d bytes echoed back", len(fe.Field))
			}
		}
	})
}

// secretMark prefixes the text of every error the fuzzer builds that a
// client must not see.
const secretMark = "SECRET-"

// FuzzFailure: any error a handler returns, of any kind and text, becomes
// a problem+json answer with a code, the status of that code, a request
// id, Retry-After exactly on 429 and 503, and none of the error's own text
// unless it is a *tenancy.Error's Message (which is written for clients).
func FuzzFailure(f *testing.F) {
	for kind := range uint8(8) {
		f.Add(kind, "not_found", "duplicate key value violates unique constraint", 404, int64(1500))
	}
	f.Add(uint8(0), "no_such_code", "x", 0, int64(0))
	f.Add(uint8(1), "", "", 999, int64(-5))
	f.Add(uint8(2), "57P01", "terminating connection", 0, int64(0))
	f.Fuzz(func(t *testing.T, kind uint8, code, msg string, status int, retryMS int64) {
		secret := secretMark + msg
		var err error
		switch kind % 8 {
		case 0:
			err = &tenancy.Error{Code: tenancy.Code(code), Message: msg}
		case 1:
			err = echo.NewHTTPError(status, secret)
		case 2:
			err = tenancy.AsError(&pgconn.PgError{Code: code, Message: secret, Detail: secret})
		case 3:
			err = errors.New(secret)
		case 4:
			err = tenancy.AsError(&limits.Refusal{Reason: limits.Reason(code), RetryAfter: time.Duration(retryMS) * time.Millisecond,
				Err: fmt.Errorf("%w: %s", txscope.ErrUnavailable, secret)})
		case 5:
			err = fmt.Errorf("%s: %w", secret, &tenancy.Error{Code: tenancy.Code(code), Message: msg})
		case 6:
			err = tenancy.AsError(&limits.Refusal{Reason: limits.RateUser, RetryAfter: time.Duration(retryMS) * time.Millisecond,
				Err: fmt.Errorf("%w: %s", txscope.ErrRateLimited, secret)})
		case 7:
			err = tenancy.AsError(fmt.Errorf("%w: %s", txscope.ErrNotFound, secret))
		}
		want := httpx.Status(httpx.Failure(err).Code)
		e := httpx.New(httpx.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		e.GET("/", func(echo.Context) error { return err })
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != want || rec.Code < 400 || rec.Code > 599 {
			t.Fatalf("%v: status %d, Failure says %d", err, rec.Code, want)
		}
		if rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("content type %q", rec.Header().Get("Content-Type"))
		}
		var p httpx.Problem
		if jerr := json.Unmarshal(rec.Body.Bytes(), &p); jerr != nil || p.Status != rec.Code || p.Code == "" || p.RequestID == "" {
			t.Fatalf("not a problem: %s (%v)", rec.Body, jerr)
		}
		ra := rec.Header().Get("Retry-After")
		if rec.Code == 429 || rec.Code == 503 {
			if n, aerr := strconv.Atoi(ra); aerr != nil || n < 1 {
				t.Fatalf("a %d with Retry-After %q", rec.Code, ra)
			}
		} else if ra != "" {
			t.Fatalf("a %d with Retry-After %q", rec.Code, ra)
		}
		if kind%8 != 0 && kind%8 != 5 && strings.Contains(rec.Body.String(), secretMark) {
			t.Fatalf("the error's text reached the client: %s", rec.Body)
		}
	})
}
