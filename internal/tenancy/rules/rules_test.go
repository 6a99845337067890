package rules_test

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/db"
	"github.com/pgtenant/pgtenant/internal/pgtest"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"  Alice@Example.COM\t": "alice@example.com",
		"a.b+tag@x.example":     "a.b+tag@x.example", // dots and +tags are distinct mailboxes
		"":                      "",
		// Only ASCII folds; everything else stays as it is (and
		// ValidEmail refuses what is invisible).
		"\u212Aate@acme.com":        "\u212Aate@acme.com",        // KELVIN SIGN, not k
		"\u00a0kate@acme.com\u00a0": "\u00a0kate@acme.com\u00a0", // no-break spaces are not trimmed
		"ＫＡＴＥ@acme.com":             "ＫＡＴＥ@acme.com",             // fullwidth capitals stay capitals
		"KİTE@ACME.COM":             "kİte@acme.com",             // dotted capital I is not ASCII
		"STRASSE@acme.com":          "strasse@acme.com",
	} {
		require.Equal(t, want, rules.NormalizeEmail(in), "%q", in)
	}
}

// TestEmailConfusables: no identity of the table becomes kate@acme.com
// but kate's own spellings; the invisible ones are refused outright.
func TestEmailConfusables(t *testing.T) {
	t.Parallel()
	for _, c := range pgtest.Confusables {
		got := rules.NormalizeEmail(c.Email)
		require.Equal(t, c.Normalized, got, c.Name)
		require.Equal(t, c.Valid, rules.ValidEmail(got), c.Name)
		if got == pgtest.KateEmail {
			require.Contains(t, c.Name, "(kate)", "only ASCII spellings of kate fold into kate")
		}
	}
}

func TestValidEmail(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"a@b", "alice@example.com", "x+y@sub.example", strings.Repeat("a", 300) + "@example.com"} {
		require.True(t, rules.ValidEmail(ok), ok)
	}
	for _, bad := range []string{"", "ab", "@b.c", "a@", "a@b@c", "a b@c", "a@b\x7f", "a\t@b", strings.Repeat("a", 320) + "@example.com", "A@b.c"} {
		require.False(t, rules.ValidEmail(bad), bad)
	}
}

// TestSlugPatternIsTheSchemas: the Go rule and the tenants_slug_check
// constraint must be the same expression, or the API would accept slugs
// the database refuses (a 422 turned into a 500) or the other way round.
func TestSlugPatternIsTheSchemas(t *testing.T) {
	t.Parallel()
	sql, err := fs.ReadFile(db.Schema, "schema/0001_init.up.sql")
	require.NoError(t, err)
	m := regexp.MustCompile(`tenants_slug_check CHECK \(slug ~ '([^']+)'\)`).FindSubmatch(sql)
	require.NotNil(t, m, "tenants_slug_check not found in the schema")
	require.Equal(t, rules.SlugPattern, string(m[1]))
}

func TestValidSlugAndTenantKey(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"a", "acme", "acme-corp", "a1", strings.Repeat("x", 63)} {
		require.True(t, rules.ValidSlug(ok), ok)
		require.True(t, rules.ValidTenantKey(ok), ok)
	}
	for _, bad := range []string{"", "-a", "a-", "Acme", "a_b", "a.b", strings.Repeat("x", 64)} {
		require.False(t, rules.ValidSlug(bad), bad)
		require.False(t, rules.ValidTenantKey(bad), bad)
	}
	id := "0b5e2f36-8a1c-4c55-9d8e-0a6c1f0e9b11"
	require.False(t, rules.ValidSlug(id[:36]+"!"))
	require.True(t, rules.ValidTenantKey(id))
	require.True(t, rules.ValidTenantKey(strings.ToUpper(id)))
	require.False(t, rules.ValidTenantKey(strings.ToUpper(id)+"0")) // neither a UUID nor (upper case) a slug
}

func TestSlugify(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Acme Corp": "acme-corp", "  Ünïcode & Co.  ": "n-code-co", "ACME": "acme", "a--b": "a-b",
		strings.Repeat("x", 80): strings.Repeat("x", 63), "ÜÏ": "",
	} {
		require.Equal(t, want, rules.Slugify(in), in)
	}
}

func TestCleanText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		v         string
		min, max  int
		multiline bool
		want      string // the problem
		clean     string // the NFC text returned, when not v
	}{
		{v: "Apollo", min: 1, max: 200},
		{v: "  ", min: 1, max: 200, want: "must be 1-200 characters"},
		{v: "", max: 10, multiline: true},
		{v: strings.Repeat("é", 200), min: 1, max: 200}, // characters, not bytes
		{v: strings.Repeat("é", 201), min: 1, max: 200, want: "must be 1-200 characters"},
		{v: "a\x07b", min: 1, max: 200, want: "must not contain control, format, bidi or separator characters (U+0007)"},
		{v: "line\nbreak", min: 1, max: 200, want: "must not contain control, format, bidi or separator characters (U+000A)"},
		{v: "line\nbreak\ttab\r\n", min: 1, max: 200, multiline: true},
		{v: "del\x7f", min: 1, max: 200, multiline: true, want: "must not contain control, format, bidi or separator characters (U+007F)"},
		// Issue 11: C1 controls, invisible format characters, bidi
		// controls, separators; even in multiline text.
		{v: "a\u0085b", min: 1, max: 200, multiline: true, want: "must not contain control, format, bidi or separator characters (U+0085)"},
		{v: "a\u009bb", min: 1, max: 200, want: "must not contain control, format, bidi or separator characters (U+009B)"},
		{v: "evil\u202etxt.exe", min: 1, max: 200, multiline: true, want: "must not contain control, format, bidi or separator characters (U+202E)"},
		{v: "a\u2066b\u2069", min: 1, max: 200, want: "must not contain control, format, bidi or separator characters (U+2066)"},
		{v: "a\u2028b", min: 1, max: 200, multiline: true, want: "must not contain control, format, bidi or separator characters (U+2028)"},
		{v: "a\u2029b", min: 1, max: 200, multiline: true, want: "must not contain control, format, bidi or separator characters (U+2029)"},
		{v: "\u200b", min: 1, max: 200, want: "must not contain control, format, bidi or separator characters (U+200B)"},
		{v: "a\ufeffb", min: 1, max: 200, want: "must not contain control, format, bidi or separator characters (U+FEFF)"},
		// Names of nothing visible.
		{v: "\u3164\u3164", min: 1, max: 200, want: "must contain a visible character"},
		{v: "\u00a0\u2800", min: 1, max: 200, want: "must contain a visible character"},
		{v: "\u3000", min: 1, max: 200, want: "must be 1-200 characters"},
		{v: "\u3164", max: 200, multiline: true}, // a description may be blank
		// NFC: the same visible text is one string.
		{v: "Cafe\u0301", min: 1, max: 200, clean: "Caf\u00e9"},
		{v: "\u212b", min: 1, max: 200, clean: "\u00c5"}, // ANGSTROM SIGN
		{v: "ok \u00e9 🎉 日本", min: 1, max: 200},
		{v: "bad \xff utf8", min: 1, max: 200, want: "must be valid UTF-8"},
	} {
		clean, problem := rules.CleanText(c.v, c.min, c.max, c.multiline)
		require.Equal(t, c.want, problem, "%q", c.v)
		if c.clean == "" {
			c.clean = c.v
		}
		if problem == "" {
			require.Equal(t, c.clean, clean, "%q", c.v)
		}
	}
}
