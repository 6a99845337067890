package pgtest

// Confusable is an identity that looks like, or Unicode-folds into,
// kate@acme.com, and what pgtenant's one email rule (rules.NormalizeEmail
// and rules.ValidEmail in Go, app.fold_email and app.valid_email in the
// database) makes of it.
type Confusable struct {
	Name, Email string
	// Normalized is what the identity becomes; Valid whether it may name a
	// user (else 401 on the HTTP identity path, and users_email_check
	// refuses it). A valid one that is not KateEmail is a user of its own,
	// never kate's row.
	Normalized string
	Valid      bool
}

// KateEmail is the address the confusables imitate.
const KateEmail = "kate@acme.com"

// Confusables is issue 11's table, shared by the rule's tests in Go, over
// HTTP (trusted-header and signed tokens) and in raw SQL against the
// constraint. Only the first two (ASCII case and ASCII white space) are
// kate; every other one is refused or stays a distinct address.
var Confusables = []Confusable{
	{"ASCII capitals (kate)", "Kate@ACME.com", KateEmail, true},
	{"ASCII white space around (kate)", " kate@acme.com\t", KateEmail, true},
	{"KELVIN SIGN (NFC would make it an ASCII K)", "\u212Aate@acme.com", "\u212Aate@acme.com", false},
	{"no-break spaces around", "\u00a0kate@acme.com\u00a0", "\u00a0kate@acme.com\u00a0", false},
	{"ideographic space after", "kate@acme.com\u3000", "kate@acme.com\u3000", false},
	{"fullwidth letters", "ｋａｔｅ@acme.com", "ｋａｔｅ@acme.com", true},
	{"fullwidth capitals", "ＫＡＴＥ@acme.com", "ＫＡＴＥ@acme.com", true},
	{"zero-width space inside", "ka\u200bte@acme.com", "ka\u200bte@acme.com", false},
	{"zero-width joiner in the domain", "kate@ac\u200dme.com", "kate@ac\u200dme.com", false},
	{"right-to-left override", "kate@\u202emoc.emca", "kate@\u202emoc.emca", false},
	{"Cyrillic a", "k\u0430te@acme.com", "k\u0430te@acme.com", true},
	{"sharp s", "kate.stra\u00dfe@acme.com", "kate.stra\u00dfe@acme.com", true},
	{"capital sharp s", "KATE.STRA\u1e9eE@acme.com", "kate.stra\u1e9ee@acme.com", true},
	{"dotless i", "k\u0131te@acme.com", "k\u0131te@acme.com", true},
	{"dotted capital I", "K\u0130TE@acme.com", "k\u0130te@acme.com", true},
	{"soft hyphen", "ka\u00adte@acme.com", "ka\u00adte@acme.com", false},
	{"Hangul filler", "kate\u3164@acme.com", "kate\u3164@acme.com", false},
	{"decomposed accent (not NFC)", "ke\u0301@acme.com", "ke\u0301@acme.com", false},
	{"precomposed accent", "k\u00e9@acme.com", "k\u00e9@acme.com", true},
	{"C1 control", "kate\u0085@acme.com", "kate\u0085@acme.com", false},
	{"line separator", "kate@acme.com\u2028", "kate@acme.com\u2028", false},
}
