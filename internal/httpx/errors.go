package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/limits"
	"github.com/pgtenant/pgtenant/internal/tenancy"
)

// Codes only the HTTP edge meets, in the domain's vocabulary.
const (
	CodeInvalidJSON     tenancy.Code = "invalid_json"
	CodeUnknownField    tenancy.Code = "unknown_field"
	CodeUnauthenticated tenancy.Code = "unauthenticated"
	CodeMethod          tenancy.Code = "method_not_allowed"
	CodeTooLarge        tenancy.Code = "body_too_large"
	CodeMediaType       tenancy.Code = "unsupported_media_type"
	// CodeCSRF: a dashboard form refused by the CSRF check.
	CodeCSRF tenancy.Code = "csrf_failed"
	// CodeMisdirected: dev mode, a Host that is not a loopback name.
	CodeMisdirected tenancy.Code = "misdirected_request"
)

// statuses is the one mapping from codes to HTTP statuses. A code missing
// here is a 500.
var statuses = map[tenancy.Code]int{
	tenancy.CodeBadRequest:         http.StatusBadRequest,
	tenancy.CodeInvalidID:          http.StatusBadRequest,
	tenancy.CodeInvalidCursor:      http.StatusBadRequest,
	tenancy.CodeInvalidLimit:       http.StatusBadRequest,
	tenancy.CodeReasonRequired:     http.StatusBadRequest,
	CodeInvalidJSON:                http.StatusBadRequest,
	CodeUnknownField:               http.StatusBadRequest,
	CodeUnauthenticated:            http.StatusUnauthorized,
	tenancy.CodeForbidden:          http.StatusForbidden,
	tenancy.CodeUnknownUser:        http.StatusForbidden,
	tenancy.CodeOwnerOnly:          http.StatusForbidden,
	CodeCSRF:                       http.StatusForbidden,
	tenancy.CodeNotFound:           http.StatusNotFound,
	CodeMethod:                     http.StatusMethodNotAllowed,
	tenancy.CodeConflict:           http.StatusConflict,
	tenancy.CodeLastPartner:        http.StatusConflict,
	tenancy.CodeConcurrentChange:   http.StatusConflict,
	tenancy.CodePreconditionFailed: http.StatusPreconditionFailed,
	CodeTooLarge:                   http.StatusRequestEntityTooLarge,
	CodeMediaType:                  http.StatusUnsupportedMediaType,
	CodeMisdirected:                http.StatusMisdirectedRequest,
	tenancy.CodeValidation:         http.StatusUnprocessableEntity,
	tenancy.CodeInternal:           http.StatusInternalServerError,
	tenancy.CodeUnavailable:        http.StatusServiceUnavailable,
	tenancy.CodeSchemaDrift:        http.StatusServiceUnavailable,
	tenancy.CodeRateLimited:        http.StatusTooManyRequests,
	tenancy.CodeConcurrencyLimited: http.StatusTooManyRequests,
}

// DefaultRetryAfter is the Retry-After of a 429 or 503 whose cause does
// not say (a limits.Refusal does).
const DefaultRetryAfter = time.Second

// Codes lists every code that has a status, sorted.
func Codes() []tenancy.Code {
	codes := make([]tenancy.Code, 0, len(statuses))
	for c := range statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}

// Status is the HTTP status of code.
func Status(code tenancy.Code) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Failure maps any error a handler or middleware returns to what the
// client may see: Echo's own errors (unknown route, wrong method, body too
// large) and the authenticator's by their meaning, everything else through
// tenancy.AsError. Nothing of an error's text reaches the client unless it
// is the Message of a *tenancy.Error.
func Failure(err error) *tenancy.Error {
	var te *tenancy.Error
	if errors.As(err, &te) {
		if _, ok := statuses[te.Code]; !ok {
			// A code without a status (empty, misspelt, new and not
			// mapped) is a bug: the client gets a documented code, not
			// a problem without one (FuzzFailure found the empty code).
			return &tenancy.Error{Code: tenancy.CodeInternal, Message: "internal error", Err: err}
		}
		return te
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return fromEcho(he)
	}
	switch {
	case errors.Is(err, auth.ErrMisdirected):
		return &tenancy.Error{Code: CodeMisdirected, Message: "this development server answers only for localhost, 127.0.0.1 and [::1]", Err: err}
	case errors.Is(err, auth.ErrUnauthenticated):
		return &tenancy.Error{Code: CodeUnauthenticated, Message: "authentication required", Err: err}
	case errors.Is(err, auth.ErrNotReady), errors.Is(err, context.DeadlineExceeded):
		return &tenancy.Error{Code: tenancy.CodeUnavailable, Message: "temporarily unavailable, retry later", Err: err}
	}
	return tenancy.AsError(err)
}

func fromEcho(he *echo.HTTPError) *tenancy.Error {
	e := &tenancy.Error{Err: he}
	switch he.Code {
	case http.StatusNotFound:
		e.Code, e.Message = tenancy.CodeNotFound, "not found"
	case http.StatusMethodNotAllowed:
		e.Code, e.Message = CodeMethod, "method not allowed"
	case http.StatusRequestEntityTooLarge:
		e.Code, e.Message = CodeTooLarge, "request body too large"
	case http.StatusUnsupportedMediaType:
		e.Code, e.Message = CodeMediaType, "send application/json"
	case http.StatusUnauthorized:
		e.Code, e.Message = CodeUnauthenticated, "authentication required"
	case http.StatusForbidden:
		e.Code, e.Message = tenancy.CodeForbidden, "forbidden"
	case http.StatusServiceUnavailable:
		e.Code, e.Message = tenancy.CodeUnavailable, "temporarily unavailable, retry later"
	default:
		if he.Code >= 500 {
			e.Code, e.Message = tenancy.CodeInternal, "internal error"
		} else {
			e.Code, e.Message = tenancy.CodeBadRequest, http.StatusText(he.Code)
		}
	}
	return e
}

// Problem is an RFC 9457 problem details body. Code is stable: clients may
// switch on it; Title and Detail are for people and may change.
type Problem struct {
	Type      string               `json:"type"`
	Title     string               `json:"title"`
	Status    int                  `json:"status"`
	Code      tenancy.Code         `json:"code"`
	Detail    string               `json:"detail,omitempty"`
	Instance  string               `json:"instance,omitempty"`
	RequestID string               `json:"request_id,omitempty"`
	Errors    []tenancy.FieldError `json:"errors,omitempty"`
}

// LogFailure logs a failed request once: server errors at error level with
// the cause, refusals (401, 403) at info with the reason (which stays
// server-side), other client errors at debug.
func LogFailure(log *slog.Logger, c echo.Context, status int, e *tenancy.Error) {
	attrs := []any{"request_id", RequestIDOf(c), "status", status, "code", string(e.Code),
		"method", c.Request().Method, "path", c.Request().URL.Path}
	if e.Err != nil {
		attrs = append(attrs, "err", e.Err.Error())
	}
	switch {
	case status >= 500:
		log.Error("request failed", attrs...)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		log.Info("request refused", attrs...)
	default:
		log.Debug("client error", attrs...)
	}
}

// WWWAuthenticate is the challenge of every 401.
const WWWAuthenticate = `Cloudflare-Access realm="pgtenant"`

// ErrorHandler is Echo's HTTPErrorHandler: every error becomes a problem
// body, logged with LogFailure.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		e := Failure(err)
		status := Status(e.Code)
		LogFailure(log, c, status, e)
		if status == http.StatusUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", WWWAuthenticate)
		}
		// Every 429 and 503 says when to come back: a client that retries
		// at once only deepens an outage or a rate limit.
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			c.Response().Header().Set("Retry-After", strconv.Itoa(limits.RetryAfterSeconds(err, DefaultRetryAfter)))
		}
		c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
		c.Response().WriteHeader(status)
		if c.Request().Method == http.MethodHead {
			return
		}
		_ = json.NewEncoder(c.Response()).Encode(Problem{
			Type:      "about:blank",
			Title:     http.StatusText(status),
			Status:    status,
			Code:      e.Code,
			Detail:    e.Message,
			Instance:  c.Request().URL.Path,
			RequestID: RequestIDOf(c),
			Errors:    e.Fields,
		})
	}
}
