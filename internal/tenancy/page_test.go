package tenancy

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 29, 12, 30, 45, 123456000, time.UTC)
	id := uuid.MustParse("0b5e2f36-8a1c-4c55-9d8e-0a6c1f0e9b11")
	for _, c := range []struct {
		list listing
		pos  position
	}{
		{projectList, position{At: at, ID: id}},
		{taskList, position{At: at, ID: id}},
		{memberList, position{At: time.UnixMicro(0).UTC(), ID: uuid.Nil}},
		{commentList, position{At: at, ID: id}},
		{tenantList, position{Key: "a"}},
		{tenantList, position{Key: "acme-" + strings.Repeat("x", 57) + "9"}}, // 63 characters, the longest slug
		{auditList, position{Seq: 1}},
		{auditList, position{Seq: 1 << 62}},
	} {
		s := c.list.encode(c.pos)
		require.NotContains(t, s, "=", "unpadded base64url")
		got, err := c.list.decode(s)
		require.NoError(t, err, "%c %+v", c.list.tag, c.pos)
		require.Equal(t, c.pos, got)
	}
}

// TestCursorRefusesTampering: a cursor is read only in its exact layout:
// another version, another list, a cut or an extension, an impossible
// value are all refused (invalid_cursor), so no tampered cursor reaches a
// query.
func TestCursorRefusesTampering(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	good := projectList.encode(position{At: time.Now(), ID: id})
	raw, err := base64.RawURLEncoding.DecodeString(good)
	require.NoError(t, err)
	_, err = projectList.decode(good)
	require.NoError(t, err, "positive control")
	edit := func(f func(b []byte) []byte) string {
		return base64.RawURLEncoding.EncodeToString(f(append([]byte(nil), raw...)))
	}
	for name, s := range map[string]string{
		"not base64":          "!!!",
		"padded base64":       base64.URLEncoding.EncodeToString(raw[:len(raw)-1]),
		"standard alphabet":   "+/" + good[2:],
		"version 0":           edit(func(b []byte) []byte { b[0] = 0; return b }),
		"version 2":           edit(func(b []byte) []byte { b[0] = 2; return b }),
		"tasks cursor":        taskList.encode(position{At: time.Now(), ID: id}),
		"tenants cursor":      tenantList.encode(position{Key: "acme"}),
		"cut short":           edit(func(b []byte) []byte { return b[:len(b)-1] }),
		"header only":         edit(func(b []byte) []byte { return b[:2] }),
		"extended":            edit(func(b []byte) []byte { return append(b, 0) }),
		"negative time":       edit(func(b []byte) []byte { b[2] = 0x80; return b }),
		"old (created_at,id)": base64.RawURLEncoding.EncodeToString(raw[2:]), // the format before versioning
	} {
		_, err := projectList.decode(s)
		require.Error(t, err, name)
		_, _, err = projectList.start(PageRequest{Cursor: s})
		require.Equal(t, CodeInvalidCursor, ErrorCode(err), name)
	}
	for name, s := range map[string]string{
		"slug not a slug":   tenantList.encode(position{Key: "Not A Slug"}),
		"slug empty":        tenantList.encode(position{Key: ""}),
		"slug length lies":  base64.RawURLEncoding.EncodeToString([]byte{cursorVersion, 'T', 10, 'a', 'b'}),
		"audit id zero":     auditList.encode(position{Seq: 0}),
		"audit id negative": auditList.encode(position{Seq: -5}),
	} {
		var l listing
		switch name[:4] {
		case "slug":
			l = tenantList
		default:
			l = auditList
		}
		_, err := l.decode(s)
		require.Error(t, err, name)
	}
}

func TestPageLimits(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"": DefaultLimit, "1": 1, " 100 ": 100, "42": 42} {
		n, err := ParseLimit(in)
		require.NoError(t, err, in)
		require.Equal(t, want, n)
	}
	for _, in := range []string{"0", "101", "-1", "ten", "1.5", "1e2"} {
		_, err := ParseLimit(in)
		require.Equal(t, CodeInvalidLimit, ErrorCode(err), in)
	}
	for limit, code := range map[int]Code{0: "", 1: "", 100: "", 101: CodeInvalidLimit, -1: CodeInvalidLimit} {
		got, _, err := projectList.start(PageRequest{Limit: limit})
		require.Equal(t, code, ErrorCode(err), limit)
		if code == "" && limit == 0 {
			require.Equal(t, DefaultLimit, got)
		}
	}
}

// TestPageBuilder: limit+1 rows make a full page and a cursor naming the
// last row served; fewer make the last page; items are never null.
func TestPageBuilder(t *testing.T) {
	t.Parallel()
	rows := []int64{10, 9, 8, 7}
	conv := func(r int64) int64 { return r }
	pos := func(r int64) position { return position{Seq: r} }
	p := page(auditList, rows, 3, conv, pos)
	require.Equal(t, []int64{10, 9, 8}, p.Items)
	require.NotNil(t, p.NextCursor)
	next, err := auditList.decode(*p.NextCursor)
	require.NoError(t, err)
	require.Equal(t, int64(8), next.Seq)

	p = page(auditList, rows, 4, conv, pos)
	require.Len(t, p.Items, 4)
	require.Nil(t, p.NextCursor)
	p = page(auditList, nil, 4, conv, pos)
	require.NotNil(t, p.Items)
	require.Empty(t, p.Items)
}
