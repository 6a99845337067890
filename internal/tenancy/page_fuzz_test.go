package tenancy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// FuzzCursorDecode: whatever a client sends as ?cursor=, every list either
// refuses it with invalid_cursor or reads a position that is in range and
// that encodes back to a cursor reading the same position; decoding never
// panics (a tampered cursor is a 400, never a 500).
func FuzzCursorDecode(f *testing.F) {
	lists := []listing{projectList, taskList, memberList, commentList, tenantList, auditList}
	at := time.Date(2026, 11, 29, 12, 30, 45, 123456000, time.UTC)
	for _, l := range lists {
		f.Add(l.encode(position{At: at, ID: uuid.MustParse("0b5e2f36-8a1c-4c55-9d8e-0a6c1f0e9b11"), Key: "acme", Seq: 42}))
	}
	for _, s := range []string{"", "AQ", "AXA", "!!!", "AXAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "AVQA", "AWH_________w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range lists {
			p, err := l.decode(s)
			_, after, serr := l.start(PageRequest{Cursor: s})
			if err != nil {
				var te *Error
				if s != "" && (!errors.As(serr, &te) || te.Code != CodeInvalidCursor) {
					t.Fatalf("list %c: decode refused %q but start said %v", l.tag, s, serr)
				}
				continue
			}
			if serr != nil || after == nil || *after != p {
				t.Fatalf("list %c: start(%q) = %v, %v; decode gave %+v", l.tag, s, after, serr, p)
			}
			if strings.ContainsRune(l.shape, 't') && p.At.Before(time.Unix(0, 0)) {
				t.Fatalf("list %c: time before the epoch from %q", l.tag, s)
			}
			if strings.ContainsRune(l.shape, 'i') && p.Seq < 1 {
				t.Fatalf("list %c: sequence %d from %q", l.tag, p.Seq, s)
			}
			q, err := l.decode(l.encode(p))
			if err != nil || !q.At.Equal(p.At) || q.ID != p.ID || q.Key != p.Key || q.Seq != p.Seq {
				t.Fatalf("list %c: %+v does not survive encode/decode: %+v, %v", l.tag, p, q, err)
			}
		}
	})
}
