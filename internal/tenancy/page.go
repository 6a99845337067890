package tenancy

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
)

// Page sizes.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// PageRequest asks for one page of a list: at most Limit items (0: the
// default) after Cursor, the NextCursor of the previous page ("" for the
// first page).
type PageRequest struct {
	Limit  int
	Cursor string
}

// Page is one page of a list and the cursor of the next page (nil on the
// last page).
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// ParseLimit reads a page size as a client sends it: "" is the default;
// anything but an integer from 1 to MaxLimit is CodeInvalidLimit.
func ParseLimit(s string) (int, error) {
	if s == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > MaxLimit {
		return 0, invalidLimit()
	}
	return n, nil
}

func invalidLimit() *Error {
	return &Error{Code: CodeInvalidLimit, Message: "limit must be an integer from 1 to " + strconv.Itoa(MaxLimit),
		Fields: []FieldError{{Field: "limit", Message: "must be 1-" + strconv.Itoa(MaxLimit)}}}
}

func invalidCursor() *Error {
	return &Error{Code: CodeInvalidCursor, Message: "cursor is not one this API issued",
		Fields: []FieldError{{Field: "cursor", Message: "malformed"}}}
}

// position is a row's place in the order of its list: the keyset a page
// continues after. Each list uses the fields its order needs (its shape).
type position struct {
	At  time.Time // creation-ordered lists: (created_at, id)
	ID  uuid.UUID
	Key string // tenants, by slug
	Seq int64  // the audit log, by id, newest first
}

// listing is one keyset-paged list: its tag in cursors and the fields of
// its position, in order: 't' At, 'u' ID, 's' Key, 'i' Seq.
type listing struct {
	tag   byte
	shape string
}

// The lists. A cursor carries its list's tag, so a cursor of one list is
// refused by another instead of being read as a position in it.
var (
	projectList = listing{'p', "tu"}
	taskList    = listing{'t', "tu"}
	memberList  = listing{'m', "tu"}
	commentList = listing{'c', "tu"}
	tenantList  = listing{'T', "s"}
	auditList   = listing{'a', "i"}
)

// cursorVersion is the first byte of every cursor. A cursor is
//
//	base64url(version || list tag || fields of the list's shape)
//
// with At as 8 bytes of Unix microseconds, ID as its 16 bytes, Key as one
// length byte and its bytes, Seq as 8 bytes, all big-endian. Cursors are
// opaque to clients but not secret and not signed: one names only a
// position in a list the caller may read anyway (row-level security
// decides what any page holds), so a forged cursor can only skip ahead in
// the caller's own rows. Decoding refuses anything but the exact layout
// (other versions, other lists, short or long input, impossible values),
// so a tampered cursor is a 400, never a 500 or a query.
const cursorVersion = 1

func (l listing) encode(p position) string {
	b := []byte{cursorVersion, l.tag}
	for _, f := range []byte(l.shape) {
		switch f {
		case 't':
			b = binary.BigEndian.AppendUint64(b, uint64(p.At.UnixMicro()))
		case 'u':
			b = append(b, p.ID[:]...)
		case 's':
			b = append(b, byte(len(p.Key)))
			b = append(b, p.Key...)
		case 'i':
			b = binary.BigEndian.AppendUint64(b, uint64(p.Seq))
		}
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

var errCursor = errors.New("malformed cursor")

func (l listing) decode(s string) (position, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != cursorVersion || b[1] != l.tag {
		return position{}, errCursor
	}
	r := cursorReader{b: b[2:]}
	var p position
	for _, f := range []byte(l.shape) {
		switch f {
		case 't':
			if micros := r.int64(); micros >= 0 {
				p.At = time.UnixMicro(micros).UTC()
			} else {
				r.bad = true
			}
		case 'u':
			copy(p.ID[:], r.take(16))
		case 's':
			p.Key = string(r.take(int(r.take(1)[0])))
			r.bad = r.bad || !rules.ValidSlug(p.Key)
		case 'i':
			p.Seq = r.int64()
			r.bad = r.bad || p.Seq < 1
		}
	}
	if r.bad || len(r.b) != 0 {
		return position{}, errCursor
	}
	return p, nil
}

// cursorReader reads a cursor's fields; reading past the end marks it bad
// (and yields zero bytes, so decoding can go on to the one verdict).
type cursorReader struct {
	b   []byte
	bad bool
}

func (r *cursorReader) take(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *cursorReader) int64() int64 { return int64(binary.BigEndian.Uint64(r.take(8))) }

// start validates a page request for list l before any query: the limit
// and, when there is one, the cursor (nil for the first page).
func (l listing) start(r PageRequest) (limit int, after *position, err error) {
	limit = r.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return 0, nil, invalidLimit()
	}
	if r.Cursor != "" {
		p, err := l.decode(r.Cursor)
		if err != nil {
			return 0, nil, invalidCursor()
		}
		after = &p
	}
	return limit, after, nil
}

// page is the one page builder: rows were read with limit+1 to learn
// whether a next page exists; the extra row is dropped and the last row
// served becomes the next cursor.
func page[R, T any](l listing, rows []R, limit int, conv func(R) T, pos func(R) position) Page[T] {
	p := Page[T]{Items: make([]T, 0, min(len(rows), limit))}
	for i, r := range rows {
		if i == limit {
			next := l.encode(pos(rows[limit-1]))
			p.NextCursor = &next
			break
		}
		p.Items = append(p.Items, conv(r))
	}
	return p
}
