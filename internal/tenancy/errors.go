package tenancy

import (
	"context"
	"errors"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
	"github.com/pgtenant/pgtenant/internal/txscope"
)

// Code is a stable error code. Clients of the API switch on it (it is the
// problem's "code"), the HTTP edge maps it to a status and the command line
// to an exit code; messages are for people and may change.
type Code string

// The domain's codes. Transports add their own codes of this type for
// errors only they can meet (malformed JSON, a missing credential).
const (
	// CodeNotFound: no such resource, or one the caller may not see: another
	// tenant's row, a tenant the caller is not in, a suspended tenant. One
	// code for all, so nothing is an existence oracle.
	CodeNotFound Code = "not_found"
	// CodeForbidden: the caller's role in the tenant does not allow this.
	CodeForbidden Code = "forbidden"
	// CodeUnknownUser: the verified identity has no user row.
	CodeUnknownUser Code = "unknown_user"
	// CodeOwnerOnly: only platform Owners may do this.
	CodeOwnerOnly Code = "owner_only"
	// CodeConflict: a unique name is taken (within the tenant).
	CodeConflict Code = "conflict"
	// CodeLastPartner: the change would leave the tenant without a Partner
	// (the database refuses it: app.keep_a_partner).
	CodeLastPartner Code = "last_partner"
	// CodeConcurrentChange: another transaction changed the same rows at
	// the same moment and won (Postgres cancelled this one as a deadlock or
	// serialization failure); nothing was written; read again and retry.
	CodeConcurrentChange Code = "concurrent_change"
	// CodePreconditionFailed: an If-Match named versions the resource no
	// longer has (another write came first).
	CodePreconditionFailed Code = "precondition_failed"
	// CodeValidation: input fields break a rule; Fields says which.
	CodeValidation Code = "validation_failed"
	// CodeInvalidCursor: a page cursor this service did not issue for that
	// list.
	CodeInvalidCursor Code = "invalid_cursor"
	// CodeInvalidLimit: a page size outside 1..MaxLimit.
	CodeInvalidLimit Code = "invalid_limit"
	// CodeInvalidID: an id that is not a UUID.
	CodeInvalidID Code = "invalid_id"
	// CodeReasonRequired: audited admin work without a usable reason.
	CodeReasonRequired Code = "reason_required"
	// CodeBadRequest: a malformed request that is not a field of a body
	// (an audit filter, say).
	CodeBadRequest Code = "bad_request"
	// CodeUnavailable: the database is unreachable or timed out; retry.
	CodeUnavailable Code = "unavailable"
	// CodeSchemaDrift: the database is not what this server expects (a
	// policy, function, trigger, grant or RLS flag differs; migrations are
	// pending; the database roles are misconfigured): the server refuses
	// tenant and admin work until an operator repairs it (`server migrate
	// up`), rather than serve under policies it did not ship.
	CodeSchemaDrift Code = "schema_drift"
	// CodeRateLimited: the caller or its tenant sends requests faster than
	// the server's per-user or per-tenant rate; retry after Retry-After.
	CodeRateLimited Code = "rate_limited"
	// CodeConcurrencyLimited: the caller or its tenant already has as many
	// requests in flight as its share of the database pool allows.
	CodeConcurrencyLimited Code = "concurrency_limited"
	// CodeInternal: anything else; details only in the server log.
	CodeInternal Code = "internal"
)

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the one error type operations return. Message and Fields are
// safe to show to the caller; Err, the cause, is for server logs only and
// may hold SQL text, constraint names or key values.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	Err     error
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// sqlstateLastPartner is what app.keep_a_partner raises.
const sqlstateLastPartner = "PT003"

// ErrorCode returns the code of err as AsError maps it ("" for nil).
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	return AsError(err).Code
}

// AsError maps any error to an *Error: an *Error anywhere in the chain is
// returned as is; the scope's errors become their codes; anything else is
// CodeInternal, with the original kept in Err for the log. This is the one
// place that decides what a database failure means to a caller.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var sce *txscope.SelfCheckError
	var pgErr *pgconn.PgError
	switch {
	// SQLSTATEs the database raises for the domain; the scope passes them
	// through unmapped.
	case errors.As(err, &pgErr) && pgErr.Code == sqlstateLastPartner:
		return &Error{Code: CodeLastPartner, Message: "a tenant keeps at least one partner: make another member a partner first", Err: err}
	case errors.As(err, &pgErr) && (pgErr.Code == pgerrcode.DeadlockDetected || pgErr.Code == pgerrcode.SerializationFailure):
		return &Error{Code: CodeConcurrentChange, Message: "another change to the same data won at the same moment; nothing was written: read it again and retry", Err: err}
	case errors.Is(err, txscope.ErrTenantNotFound), errors.Is(err, txscope.ErrNotFound):
		return &Error{Code: CodeNotFound, Message: "not found", Err: err}
	case errors.Is(err, txscope.ErrUnknownUser):
		return &Error{Code: CodeUnknownUser, Message: "this identity has no account here; ask a partner or owner to add you", Err: err}
	case errors.Is(err, txscope.ErrForbidden):
		return &Error{Code: CodeForbidden, Message: "your role does not allow this", Err: err}
	case errors.Is(err, txscope.ErrConflict):
		return &Error{Code: CodeConflict, Message: "a resource with that name already exists", Err: err}
	case errors.Is(err, txscope.ErrInvalid):
		return &Error{Code: CodeValidation, Message: "a value was refused", Err: err}
	case errors.Is(err, txscope.ErrReasonRequired):
		return reasonRequired(err)
	case errors.As(err, &sce):
		return &Error{Code: CodeSchemaDrift, Message: "the database is not what this server expects, so it serves no tenant or admin request until an operator repairs it: " + sce.Detail(), Err: err}
	case errors.Is(err, txscope.ErrRateLimited):
		return &Error{Code: CodeRateLimited, Message: "too many requests; retry after the time in Retry-After", Err: err}
	case errors.Is(err, txscope.ErrBusy):
		return &Error{Code: CodeConcurrencyLimited, Message: "too many of these requests are in flight; retry after the time in Retry-After", Err: err}
	case errors.Is(err, txscope.ErrUnavailable), errors.Is(err, txscope.ErrNoAdmin), errors.Is(err, context.DeadlineExceeded),
		// The key was rotated under the scope (it re-reads keys on its next
		// use), or the pooled connection was tainted (and destroyed): the
		// next attempt succeeds.
		errors.Is(err, txscope.ErrContextKey), errors.Is(err, txscope.ErrTaintedSession):
		return &Error{Code: CodeUnavailable, Message: "temporarily unavailable, retry later", Err: err}
	}
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}

// fail is AsError for the error results of operations (nil stays nil).
func fail(err error) error {
	if err == nil {
		return nil
	}
	return AsError(err)
}

func notFound() *Error { return &Error{Code: CodeNotFound, Message: "not found"} }

func reasonRequired(err error) *Error {
	return &Error{Code: CodeReasonRequired, Message: "an audit reason is required (1-500 characters, something visible, no control, format, bidi or separator characters)", Err: err}
}

// fields collects field errors: nil when there are none, else one
// validation error holding them all.
type fields []FieldError

func (f *fields) add(field, message string) {
	if message != "" {
		*f = append(*f, FieldError{Field: field, Message: message})
	}
}

// text checks the text field *v with rules.CleanText and leaves it in
// NFC.
func (f *fields) text(field string, v *string, minLen, maxLen int, multiline bool) {
	var problem string
	*v, problem = rules.CleanText(*v, minLen, maxLen, multiline)
	f.add(field, problem)
}

func (f fields) err() error { return f.errAs(CodeValidation, "some fields are invalid") }

func (f fields) errAs(code Code, message string) error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: code, Message: message, Fields: f}
}
