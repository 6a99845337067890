package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Problem is an RFC 9457 problem details body. Code is stable: clients may
// switch on it; Title and Detail are for people and may change.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Code      string       `json:"code"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
}

// FieldError names one invalid field of a request body or query.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an API error with a stable code. Internal, when set, is logged
// and never sent.
type Error struct {
	Status   int
	Code     string
	Detail   string
	Fields   []FieldError
	Internal error
}

func (e *Error) Error() string {
	if e.Internal != nil {
		return fmt.Sprintf("%s (%d): %s: %v", e.Code, e.Status, e.Detail, e.Internal)
	}
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Detail)
}

func (e *Error) Unwrap() error { return e.Internal }

func apiError(status int, code, detail string) *Error {
	return &Error{Status: status, Code: code, Detail: detail}
}

// Stable error codes.
const (
	CodeBadRequest      = "bad_request"
	CodeInvalidJSON     = "invalid_json"
	CodeUnknownField    = "unknown_field"
	CodeInvalidID       = "invalid_id"
	CodeInvalidCursor   = "invalid_cursor"
	CodeInvalidLimit    = "invalid_limit"
	CodeValidation      = "validation_failed"
	CodeUnauthenticated = "unauthenticated"
	CodeUnknownUser     = "unknown_user"
	CodeForbidden       = "forbidden"
	CodeNotFound        = "not_found"
	CodeMethod          = "method_not_allowed"
	CodeConflict        = "conflict"
	CodeTooLarge        = "body_too_large"
	CodeMediaType       = "unsupported_media_type"
	CodeUnavailable     = "unavailable"
	CodeInternal        = "internal"
)

// toAPIError maps any error to what the client may see. Only this function
// decides status codes for domain errors; nothing of the original error's
// text reaches the client unless it is an *Error built by this package.
func toAPIError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return fromEchoError(he)
	}
	switch {
	case errors.Is(err, txscope.ErrTenantNotFound), errors.Is(err, txscope.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Detail: "not found", Internal: err}
	case errors.Is(err, txscope.ErrUnknownUser):
		return &Error{Status: http.StatusForbidden, Code: CodeUnknownUser, Detail: "this identity has no account here; ask a partner or owner to add you", Internal: err}
	case errors.Is(err, txscope.ErrForbidden):
		return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Detail: "your role does not allow this", Internal: err}
	case errors.Is(err, txscope.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Detail: "a resource with that name already exists", Internal: err}
	case errors.Is(err, txscope.ErrInvalid):
		return &Error{Status: http.StatusUnprocessableEntity, Code: CodeValidation, Detail: "a value was refused", Internal: err}
	case errors.Is(err, txscope.ErrReasonRequired):
		return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Detail: "an audit reason is required", Internal: err}
	case errors.Is(err, auth.ErrUnauthenticated):
		return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Detail: "authentication required", Internal: err}
	case errors.Is(err, auth.ErrNotReady), errors.Is(err, txscope.ErrUnavailable),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, txscope.ErrNoAdmin):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Detail: "temporarily unavailable, retry later", Internal: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Detail: "internal error", Internal: err}
}

func fromEchoError(he *echo.HTTPError) *Error {
	e := &Error{Status: he.Code, Internal: he}
	switch he.Code {
	case http.StatusNotFound:
		e.Code, e.Detail = CodeNotFound, "not found"
	case http.StatusMethodNotAllowed:
		e.Code, e.Detail = CodeMethod, "method not allowed"
	case http.StatusRequestEntityTooLarge:
		e.Code, e.Detail = CodeTooLarge, "request body too large"
	case http.StatusUnsupportedMediaType:
		e.Code, e.Detail = CodeMediaType, "send application/json"
	case http.StatusUnauthorized:
		e.Code, e.Detail = CodeUnauthenticated, "authentication required"
	case http.StatusForbidden:
		e.Code, e.Detail = CodeForbidden, "forbidden"
	case http.StatusServiceUnavailable:
		e.Code, e.Detail = CodeUnavailable, "temporarily unavailable, retry later"
	default:
		if he.Code >= 500 {
			e.Status, e.Code, e.Detail = http.StatusInternalServerError, CodeInternal, "internal error"
		} else {
			e.Code, e.Detail = CodeBadRequest, http.StatusText(he.Code)
		}
	}
	return e
}

// errorHandler is Echo's HTTPErrorHandler: every error becomes a problem
// body. Server errors are logged with the request id; client errors at debug.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ae := toAPIError(err)
		rid := requestID(c)
		attrs := []any{"request_id", rid, "status", ae.Status, "code", ae.Code, "method", c.Request().Method, "path", c.Request().URL.Path}
		if ae.Internal != nil {
			attrs = append(attrs, "err", ae.Internal.Error())
		}
		switch {
		case ae.Status >= 500:
			log.Error("request failed", attrs...)
		case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
			log.Info("request refused", attrs...) // the reason stays server-side
		default:
			log.Debug("client error", attrs...)
		}
		p := Problem{
			Type:      "about:blank",
			Title:     http.StatusText(ae.Status),
			Status:    ae.Status,
			Code:      ae.Code,
			Detail:    ae.Detail,
			Instance:  c.Request().URL.Path,
			RequestID: rid,
			Errors:    ae.Fields,
		}
		if ae.Status == http.StatusUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", `Cloudflare-Access realm="pgtenant"`)
		}
		c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
		c.Response().WriteHeader(ae.Status)
		if c.Request().Method == http.MethodHead {
			return
		}
		_ = json.NewEncoder(c.Response()).Encode(p)
	}
}
