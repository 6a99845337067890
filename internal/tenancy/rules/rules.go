// Package rules holds the input rules of pgtenant that need nothing but the
// standard library: how an email becomes the key of a user row, what a
// tenant slug and a tenant key look like, and the text limits and
// characters the schema's check constraints agree with.
//
// It is a leaf on purpose. internal/tenancy applies these rules to every
// operation; internal/auth needs the email rules to turn a verified
// identity into a user key, and must not depend on the database layers
// (tenancy, txscope, dbgen) to do so.
package rules

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// NormalizeEmail is the one normalization of identities to user rows:
// surrounding white space trimmed, lower-cased. Nothing else: no removal of
// dots or +tags, because the identity provider treats those as distinct
// mailboxes and so must we. The users_email_check constraint and
// app.enter apply the same normalization in the database.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// MaxEmailLen bounds an email address in bytes (RFC 5321's path limit; the
// users_email_check constraint agrees).
const MaxEmailLen = 320

// ValidEmail reports whether s looks like an email address: one @, text on
// both sides, no spaces or control characters, 3 to 320 bytes.
func ValidEmail(s string) bool {
	if len(s) < 3 || len(s) > MaxEmailLen {
		return false
	}
	at := strings.IndexByte(s, '@')
	if at < 1 || at != strings.LastIndexByte(s, '@') || at == len(s)-1 {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// SlugPattern is the tenant slug syntax: 1-63 lowercase letters, digits and
// inner dashes, a DNS label, so a slug can be a subdomain. The schema's
// tenants_slug_check constraint is the same expression (a test compares
// them).
const SlugPattern = `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`

var (
	slugRE = regexp.MustCompile(SlugPattern)
	// tenantKeyRE is what may name a tenant in a URL: a slug or a UUID.
	tenantKeyRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`)
)

// ValidSlug reports whether s is a valid tenant slug (SlugPattern).
func ValidSlug(s string) bool { return slugRE.MatchString(s) }

// ValidTenantKey reports whether s can name a tenant: a slug or a UUID.
// Anything else names no tenant and needs no database round trip to say so.
func ValidTenantKey(s string) bool { return tenantKeyRE.MatchString(s) }

// Slugify derives a slug from a tenant name: "Acme Corp" -> "acme-corp".
// Letters outside a-z and digits become single dashes; the result may be
// empty (a name with no ASCII letter or digit), which ValidSlug refuses.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

// Text limits, in characters; the schema's check constraints agree.
const (
	MaxNameLen        = 200   // project and tenant names
	MaxDescriptionLen = 10000 // project descriptions
	MaxTitleLen       = 500   // task titles
	MaxCommentLen     = 4000  // task comments
)

// CheckText reports what is wrong with v as a text field, or "" when
// nothing is: its trimmed length must be at least minLen and its length at
// most maxLen characters, and it must hold no control characters. One-line
// text (names, titles) allows none at all; multiline text allows newlines,
// carriage returns and tabs.
func CheckText(v string, minLen, maxLen int, multiline bool) string {
	n := utf8.RuneCountInString(strings.TrimSpace(v))
	if n < minLen || utf8.RuneCountInString(v) > maxLen {
		return "must be " + strconv.Itoa(minLen) + "-" + strconv.Itoa(maxLen) + " characters"
	}
	for _, r := range v {
		if (r < ' ' && !(multiline && (r == '\n' || r == '\t' || r == '\r'))) || r == 0x7f {
			return "must not contain control characters"
		}
	}
	return ""
}
