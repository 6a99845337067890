package rules_test

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgtenant/pgtenant/db"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"  Alice@Example.COM\t": "alice@example.com",
		"a.b+tag@x.example":     "a.b+tag@x.example", // dots and +tags are distinct mailboxes
		"":                      "",
	} {
		require.Equal(t, want, rules.NormalizeEmail(in), in)
	}
}

func TestValidEmail(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"a@b", "alice@example.com", "x+y@sub.example", strings.Repeat("a", 300) + "@example.com"} {
		require.True(t, rules.ValidEmail(ok), ok)
	}
	for _, bad := range []string{"", "ab", "@b.c", "a@", "a@b@c", "a b@c", "a@b\x7f", "a\t@b", strings.Repeat("a", 320) + "@example.com"} {
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

func TestCheckText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		v         string
		min, max  int
		multiline bool
		want      string
	}{
		{"Apollo", 1, 200, false, ""},
		{"  ", 1, 200, false, "must be 1-200 characters"},
		{"", 0, 10, true, ""},
		{strings.Repeat("é", 200), 1, 200, false, ""}, // characters, not bytes
		{strings.Repeat("é", 201), 1, 200, false, "must be 1-200 characters"},
		{"a\x07b", 1, 200, false, "must not contain control characters"},
		{"line\nbreak", 1, 200, false, "must not contain control characters"},
		{"line\nbreak\ttab\r\n", 1, 200, true, ""},
		{"del\x7f", 1, 200, true, "must not contain control characters"},
	} {
		require.Equal(t, c.want, rules.CheckText(c.v, c.min, c.max, c.multiline), "%q", c.v)
	}
}
