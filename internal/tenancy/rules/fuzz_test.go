package rules_test

import (
	"strings"
	"testing"

	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
)

// FuzzEmailNormalization: normalizing an identity twice changes nothing
// (a user row's key is stable), leaves no ASCII capital and no surrounding
// ASCII white space, and never panics; ValidEmail of the result is a plain
// verdict on it.
func FuzzEmailNormalization(f *testing.F) {
	for _, s := range []string{"  Alice@Example.COM\t", "a.b+tag@x.example", "", "@", "a@b@c", "\u212Aelvin@x.example", "ÄÖ@ÉX.example", "a\x00b@c", " \u00a0x@y\u00a0 ", "İ@x.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := rules.NormalizeEmail(s)
		if rules.NormalizeEmail(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, rules.NormalizeEmail(n))
		}
		if strings.ContainsAny(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Fatalf("%q -> %q keeps a capital", s, n)
		}
		if strings.Trim(n, " \t\r\n\v\f") != n {
			t.Fatalf("%q -> %q keeps surrounding white space", s, n)
		}
		if rules.ValidEmail(n) && (len(n) > rules.MaxEmailLen || strings.Count(n, "@") != 1) {
			t.Fatalf("ValidEmail accepted %q", n)
		}
	})
}

// FuzzSlug: a name's slug is empty or a valid slug (a DNS label), which is
// also a valid tenant key and its own slug; validity never panics. (Not
// every valid slug is a slug of itself: "a--b" is valid, Slugify makes no
// double dash.)
func FuzzSlug(f *testing.F) {
	for _, s := range []string{"Acme Corp", "", "---", "ÄÖÜ GmbH", strings.Repeat("a", 70), "a-b", "0", "x" + strings.Repeat("-", 62) + "y", "UPPER", "a--b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		slug := rules.Slugify(name)
		if slug != "" && !rules.ValidSlug(slug) {
			t.Fatalf("Slugify(%q) = %q, not a valid slug", name, slug)
		}
		if slug != "" && (!rules.ValidTenantKey(slug) || rules.Slugify(slug) != slug) {
			t.Fatalf("Slugify(%q) = %q: not a tenant key, or not its own slug", name, slug)
		}
		_ = rules.ValidTenantKey(name)
	})
}
