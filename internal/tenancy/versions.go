package tenancy

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Optimistic concurrency. Every resource served one at a time has a
// version, the time of its last write (updated_at, moved by a trigger on
// every write, strictly increasing; created_at for comments, which are
// never edited). Its ETag names that version. A write that names the
// versions it may replace (If-Match) carries them into its own UPDATE or
// DELETE, so the database decides atomically: of two writers that read
// the same version, the first changes the row, the second matches nothing
// and gets CodePreconditionFailed. No read-then-write race in Go.

// Precondition is what a write may replace: any version (the zero value,
// no If-Match) or only the versions an If-Match named.
type Precondition struct {
	versions []time.Time // nil: unconditional; empty: matches no version
}

// IfMatch parses an If-Match header: "" and "*" are unconditional (a
// missing resource is still CodeNotFound); otherwise a list of entity
// tags. Weak tags and tags this service did not issue match no version:
// If-Match compares strongly (RFC 9110, 13.1.1).
func IfMatch(header string) Precondition {
	header = strings.TrimSpace(header)
	if header == "" || header == "*" {
		return Precondition{}
	}
	versions := []time.Time{}
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if strings.HasPrefix(tag, "W/") {
			continue
		}
		if v, ok := parseETag(tag); ok {
			versions = append(versions, v)
		}
	}
	return Precondition{versions: versions}
}

// Conditional reports whether the write names the versions it may replace.
func (p Precondition) Conditional() bool { return p.versions != nil }

// etag is the strong entity tag of a version: its microseconds (Postgres'
// resolution) in base 36, quoted. Opaque to clients; the same instant
// always gives the same tag.
func etag(version time.Time) string {
	return `"` + strconv.FormatInt(version.UnixMicro(), 36) + `"`
}

func parseETag(tag string) (time.Time, bool) {
	s, ok := strings.CutPrefix(tag, `"`)
	if !ok {
		return time.Time{}, false
	}
	if s, ok = strings.CutSuffix(s, `"`); !ok || s == "" || len(s) > 16 {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(s, 36, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMicro(n), true
}

// ETag of a project, a task, a member, a tenant (its row, not its counts,
// which are other resources') and a comment.
func (p Project) ETag() string { return etag(p.UpdatedAt) }
func (t Task) ETag() string    { return etag(t.UpdatedAt) }
func (m Member) ETag() string  { return etag(m.UpdatedAt) }
func (t Tenant) ETag() string  { return etag(t.UpdatedAt) }
func (c Comment) ETag() string { return etag(c.CreatedAt) }

func preconditionFailed() *Error {
	return &Error{Code: CodePreconditionFailed, Message: "the resource changed since you read it (If-Match); read it again and retry"}
}

// matched names the outcome of a conditional UPDATE ... RETURNING (err is
// pgx.ErrNoRows when it changed nothing) or DELETE (rows is 0). The
// statement has already decided; exists, a read in the same transaction,
// only tells a row with another version (CodePreconditionFailed) from no
// row at all (not found).
func matched(pre Precondition, rows int64, err error, exists func() error) error {
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if err == nil && rows > 0 {
		return nil
	}
	if pre.Conditional() {
		switch xerr := exists(); {
		case xerr == nil:
			return preconditionFailed()
		case !errors.Is(xerr, pgx.ErrNoRows):
			return xerr
		}
	}
	return notFound()
}

// updated is matched for an UPDATE ... RETURNING.
func updated[R any](pre Precondition, row R, err error, exists func() error) (R, error) {
	return row, matched(pre, 1, err, exists)
}
