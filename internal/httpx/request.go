package httpx

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/pgtenant/pgtenant/internal/tenancy"
)

func bad(code tenancy.Code, message string, fields ...tenancy.FieldError) *tenancy.Error {
	return &tenancy.Error{Code: code, Message: message, Fields: fields}
}

// DecodeJSON reads exactly one JSON object into dst: application/json only,
// unknown fields refused (a client cannot smuggle tenant_id or any field we
// do not read), trailing data refused, the body size already bounded by the
// body limit middleware.
func DecodeJSON(c echo.Context, dst any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != echo.MIMEApplicationJSON {
		return bad(CodeMediaType, "send a JSON body with Content-Type: application/json")
	}
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if isTooLarge(err) {
			return jsonError(err)
		}
		return bad(CodeInvalidJSON, "the body must hold exactly one JSON object")
	}
	return nil
}

func isTooLarge(err error) bool {
	var he *echo.HTTPError
	return errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge
}

func jsonError(err error) error {
	var (
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
		maxBytes *http.MaxBytesError
	)
	switch {
	case isTooLarge(err), errors.As(err, &maxBytes):
		return bad(CodeTooLarge, "request body too large")
	case errors.Is(err, io.EOF):
		return bad(CodeInvalidJSON, "the request body is empty")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return bad(CodeInvalidJSON, "the request body is not valid JSON")
	case errors.As(err, &typeErr):
		e := bad(CodeInvalidJSON, "a field has the wrong type")
		if typeErr.Field != "" {
			e.Fields = []tenancy.FieldError{{Field: typeErr.Field, Message: "must be a " + jsonKind(typeErr.Type.Kind().String())}}
		}
		return e
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		e := bad(CodeUnknownField, "the body has a field this endpoint does not accept")
		if len(name) <= 64 {
			e.Fields = []tenancy.FieldError{{Field: name, Message: "unknown field"}}
		}
		return e
	}
	return bad(CodeInvalidJSON, "the request body is not valid JSON")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	}
	return "number"
}

// PathUUID parses a path parameter that must be a UUID (CodeInvalidID).
func PathUUID(c echo.Context, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil || len(c.Param(name)) != 36 {
		return uuid.Nil, bad(tenancy.CodeInvalidID, name+" must be a UUID", tenancy.FieldError{Field: name, Message: "must be a UUID"})
	}
	return id, nil
}

// PageRequest reads ?limit= and ?cursor= (the domain checks the cursor).
func PageRequest(c echo.Context) (tenancy.PageRequest, error) {
	limit, err := tenancy.ParseLimit(c.QueryParam("limit"))
	return tenancy.PageRequest{Limit: limit, Cursor: c.QueryParam("cursor")}, err
}
