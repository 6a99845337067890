package web

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// decodeJSON reads exactly one JSON object into dst: application/json only,
// unknown fields refused (a client cannot smuggle tenant_id or any field we
// do not read), trailing data refused, the body size already bounded by the
// BodyLimit middleware.
func decodeJSON(c echo.Context, dst any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != echo.MIMEApplicationJSON {
		return apiError(http.StatusUnsupportedMediaType, CodeMediaType, "send a JSON body with Content-Type: application/json")
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
		return apiError(http.StatusBadRequest, CodeInvalidJSON, "the body must hold exactly one JSON object")
	}
	return nil
}

func isTooLarge(err error) bool {
	var he *echo.HTTPError
	return errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge
}

func jsonError(err error) error {
	var (
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		maxBytes  *http.MaxBytesError
		fieldName string
	)
	switch {
	case isTooLarge(err), errors.As(err, &maxBytes):
		return apiError(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body too large")
	case errors.Is(err, io.EOF):
		return apiError(http.StatusBadRequest, CodeInvalidJSON, "the request body is empty")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return apiError(http.StatusBadRequest, CodeInvalidJSON, "the request body is not valid JSON")
	case errors.As(err, &typeErr):
		e := apiError(http.StatusBadRequest, CodeInvalidJSON, "a field has the wrong type")
		if typeErr.Field != "" {
			e.Fields = []FieldError{{Field: typeErr.Field, Message: "must be a " + jsonKind(typeErr.Type.Kind().String())}}
		}
		return e
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		fieldName = strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		e := apiError(http.StatusBadRequest, CodeUnknownField, "the body has a field this endpoint does not accept")
		if len(fieldName) <= 64 {
			e.Fields = []FieldError{{Field: fieldName, Message: "unknown field"}}
		}
		return e
	}
	return apiError(http.StatusBadRequest, CodeInvalidJSON, "the request body is not valid JSON")
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

// pathUUID parses a path parameter that must be a UUID.
func pathUUID(c echo.Context, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil || len(c.Param(name)) != 36 {
		return uuid.Nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalidID, Detail: name + " must be a UUID",
			Fields: []FieldError{{Field: name, Message: "must be a UUID"}}}
	}
	return id, nil
}

// Page limits.
const (
	defaultLimit = 20
	maxLimit     = 100
)

// pageParams reads ?limit= and ?cursor=.
func pageParams(c echo.Context) (limit int, after *cursor, err error) {
	if limit, err = limitParam(c); err != nil {
		return 0, nil, err
	}
	if s := c.QueryParam("cursor"); s != "" {
		cur, err := decodeCursor(s)
		if err != nil {
			return 0, nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalidCursor,
				Detail: "cursor is not one this API issued", Fields: []FieldError{{Field: "cursor", Message: "malformed"}}}
		}
		after = &cur
	}
	return limit, after, nil
}

// cursor is a keyset position: the (created_at, id) of the last row served.
type cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// encode packs the position as base64url(8-byte unix microseconds || 16-byte
// id). Opaque to clients; it names only a row they already saw.
func (c cursor) encode() string {
	var b [24]byte
	binary.BigEndian.PutUint64(b[:8], uint64(c.CreatedAt.UnixMicro()))
	copy(b[8:], c.ID[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 24 {
		return cursor{}, errors.New("malformed cursor")
	}
	micros := int64(binary.BigEndian.Uint64(b[:8]))
	if micros < 0 {
		return cursor{}, errors.New("malformed cursor")
	}
	var id uuid.UUID
	copy(id[:], b[8:])
	return cursor{CreatedAt: time.UnixMicro(micros).UTC(), ID: id}, nil
}

// Page is a page of items with the cursor of the next page (null at the end).
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// newPage trims the extra row fetched to learn whether a next page exists.
func newPage[R, T any](rows []R, limit int, conv func(R) T, pos func(R) cursor) Page[T] {
	p := Page[T]{Items: make([]T, 0, min(len(rows), limit))}
	for i, r := range rows {
		if i == limit {
			next := pos(rows[limit-1]).encode()
			p.NextCursor = &next
			break
		}
		p.Items = append(p.Items, conv(r))
	}
	return p
}

// text validation shared by handlers.
// Names and titles are one line; multiline text may hold newlines and tabs.
func checkText(field, v string, minLen, maxLen int, multiline bool) *FieldError {
	n := len([]rune(strings.TrimSpace(v)))
	if n < minLen || len([]rune(v)) > maxLen {
		return &FieldError{Field: field, Message: "must be " + strconv.Itoa(minLen) + "-" + strconv.Itoa(maxLen) + " characters"}
	}
	for _, r := range v {
		if (r < ' ' && !(multiline && (r == '\n' || r == '\t' || r == '\r'))) || r == 0x7f {
			return &FieldError{Field: field, Message: "must not contain control characters"}
		}
	}
	return nil
}

func validation(fields ...*FieldError) error {
	var fs []FieldError
	for _, f := range fields {
		if f != nil {
			fs = append(fs, *f)
		}
	}
	if len(fs) == 0 {
		return nil
	}
	return &Error{Status: http.StatusUnprocessableEntity, Code: CodeValidation, Detail: "some fields are invalid", Fields: fs}
}
