// Package rules holds the input rules of pgtenant that need no database:
// how an email becomes the key of a user row, what a tenant slug and a
// tenant key look like, and the text limits and characters the schema's
// check constraints agree with (tests compare each rule with its SQL twin,
// on the same inputs).
//
// It is a leaf on purpose. internal/tenancy applies these rules to every
// operation; internal/auth needs the email rules to turn a verified
// identity into a user key, and must not depend on the database layers
// (tenancy, txscope, dbgen) to do so. Its one dependency outside the
// standard library is golang.org/x/text/unicode/norm (NFC), already in the
// module graph through the HTTP stack.
package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// asciiSpace is what NormalizeEmail trims: ASCII white space only.
const asciiSpace = " \t\n\v\f\r"

// NormalizeEmail is the one normalization of identities to user rows:
// ASCII white space trimmed from both ends and ASCII letters lower-cased.
// Nothing else: no Unicode case folding or trimming, which would turn
// distinct strings into the same address (the KELVIN SIGN in
// "\u212Aate@acme.com" folds to "k", a no-break space trims away), so an
// identity provider's "\u212Aate@acme.com" would have signed in as
// kate@acme.com; other characters are kept verbatim, or refused by
// ValidEmail (invisible ones). No removal of dots or +tags either: the
// identity provider treats those as distinct mailboxes and so must we.
// app.fold_email is the same in the database (app.enter, app.member_add),
// independent of the database's locale.
func NormalizeEmail(email string) string {
	email = strings.Trim(email, asciiSpace)
	b := []byte(email)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// MaxEmailLen bounds an email address in bytes (RFC 5321's path limit; the
// users_email_check constraint agrees).
const MaxEmailLen = 320

// ValidEmail reports whether s can be the key of a user row, as
// NormalizeEmail leaves it: 3 to 320 bytes of valid UTF-8 in NFC, one @
// with text on both sides, no ASCII capital letter, and no character that
// is invisible or blank (Forbidden or Blank: controls, format characters
// such as U+200B or the bidi controls, separators, no-break and other
// spaces, Hangul fillers, variation selectors). Other non-ASCII characters
// are allowed and kept as they are: "ｋａｔｅ@acme.com" and a Cyrillic
// "kаte@acme.com" are users of their own, never kate@acme.com. The
// constraint users_email_check (app.valid_email) is the same rule.
func ValidEmail(s string) bool {
	if len(s) < 3 || len(s) > MaxEmailLen || !utf8.ValidString(s) || !norm.NFC.IsNormalString(s) {
		return false
	}
	at := strings.IndexByte(s, '@')
	if at < 1 || at != strings.LastIndexByte(s, '@') || at == len(s)-1 {
		return false
	}
	for _, c := range s {
		if ('A' <= c && c <= 'Z') || Forbidden(c, false) || Blank(c) {
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

// Forbidden reports whether no text field may hold r: C0 and C1 controls
// and DEL (Unicode Cc; multiline text keeps tab, newline and carriage
// return), format characters (Cf: zero-width space and joiners, soft
// hyphen, the bidi embeddings, overrides and isolates such as U+202E that
// make text display in another order than it reads, the BOM, ...), and the
// line and paragraph separators U+2028 and U+2029 (Zl, Zp), which break
// lines in some renderers and log formats and not in others. The SQL twin
// is app.text_ok (db/policies/00_functions.sql; a test compares them).
func Forbidden(r rune, multiline bool) bool {
	if multiline && (r == '\t' || r == '\n' || r == '\r') {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// blankExtra are characters that display as nothing or as blank space but
// are not Unicode white space: Hangul fillers, the braille blank, the
// combining grapheme joiner and the variation selectors.
var blankExtra = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x034f, Hi: 0x034f, Stride: 1},
		{Lo: 0x115f, Hi: 0x1160, Stride: 1},
		{Lo: 0x2800, Hi: 0x2800, Stride: 1},
		{Lo: 0x3164, Hi: 0x3164, Stride: 1},
		{Lo: 0xfe00, Hi: 0xfe0f, Stride: 1},
		{Lo: 0xffa0, Hi: 0xffa0, Stride: 1},
	},
	R32: []unicode.Range32{{Lo: 0xe0100, Hi: 0xe01ef, Stride: 1}},
}

// Blank reports whether r shows as nothing or as blank space: Unicode
// white space (ASCII space, tab and line ends, U+00A0, U+2000 to U+200A,
// U+3000, ...) and blankExtra. A name made of nothing else is refused, and
// no email holds one.
func Blank(r rune) bool { return unicode.Is(unicode.White_Space, r) || unicode.Is(blankExtra, r) }

// CleanText applies the text rule of every free-text field (names, titles,
// descriptions, comment bodies, audit reasons) and returns v in Unicode
// NFC (so one visible text is one string: a name typed with a combining
// accent and the same name precomposed are the same name, for uniqueness
// too) and what is wrong with it, "" when nothing is: valid UTF-8, no
// Forbidden character, a trimmed length of at least minLen and a length of
// at most maxLen characters (after NFC), and, when minLen > 0, at least one
// character that is not Blank (a name of U+200B, or of U+3164, shows as
// nothing). The check constraints call app.text_ok, the same rule.
func CleanText(v string, minLen, maxLen int, multiline bool) (string, string) {
	if !utf8.ValidString(v) {
		return v, "must be valid UTF-8"
	}
	for _, r := range v {
		if Forbidden(r, multiline) {
			return v, fmt.Sprintf("must not contain control, format, bidi or separator characters (U+%04X)", r)
		}
	}
	v = norm.NFC.String(v)
	n := utf8.RuneCountInString(strings.TrimSpace(v))
	if n < minLen || utf8.RuneCountInString(v) > maxLen {
		return v, "must be " + strconv.Itoa(minLen) + "-" + strconv.Itoa(maxLen) + " characters"
	}
	if minLen > 0 && strings.IndexFunc(v, func(r rune) bool { return !Blank(r) }) < 0 {
		return v, "must contain a visible character"
	}
	return v, ""
}
