package cfaccess

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Claims is the verified identity a token carries. It exists only as the
// result of a successful Verify.
type Claims struct {
	// Email is the user's email exactly as in the token (case and all);
	// normalization belongs to the caller. Empty for service tokens.
	Email string
	// Subject is Cloudflare's user id ("sub"); empty for service tokens.
	Subject string
	// Service is the identity name Config.ServiceTokens maps the token's
	// common_name to; empty for user tokens.
	Service string
	// CommonName is the service token's Client ID ("common_name").
	CommonName string
	// Audience is the token's "aud", which contains at least one of the
	// configured AUD tags.
	Audience []string
	// Expiry is the token's "exp". A cache of verified tokens must not
	// outlive it.
	Expiry time.Time
	// IssuedAt is the token's "iat", zero when absent.
	IssuedAt time.Time
}

// IsService reports whether the token was a mapped service token.
func (c Claims) IsService() bool { return c.Service != "" }

// Identity names the caller for logs and audit rows: the email for a user,
// "service:" + the mapped name for a service token.
func (c Claims) Identity() string {
	if c.IsService() {
		return "service:" + c.Service
	}
	return c.Email
}

// numericDate is a JWT NumericDate: seconds since the epoch, possibly
// fractional (RFC 7519 section 2).
type numericDate struct {
	t   time.Time
	set bool
}

// claimSet holds the claims we read, decoded from the verified payload with
// exact, case-sensitive names (encoding/json's struct decoding would also
// match "EXP" or "Aud").
type claimSet struct {
	iss, sub, email, commonName, typ *string
	aud                              []string
	audSet                           bool
	exp, nbf, iat                    numericDate
}

func decodeClaims(payload []byte) (claimSet, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return claimSet{}, fmt.Errorf("%w: payload is not a JSON object", errClaims)
	}
	if dec.More() {
		return claimSet{}, fmt.Errorf("%w: trailing data after payload", errClaims)
	}
	var c claimSet
	var err error
	for name, dst := range map[string]**string{
		"iss": &c.iss, "sub": &c.sub, "email": &c.email, "common_name": &c.commonName, "type": &c.typ,
	} {
		if *dst, err = stringClaim(raw, name); err != nil {
			return claimSet{}, err
		}
	}
	for name, dst := range map[string]*numericDate{"exp": &c.exp, "nbf": &c.nbf, "iat": &c.iat} {
		if *dst, err = dateClaim(raw, name); err != nil {
			return claimSet{}, err
		}
	}
	if c.aud, c.audSet, err = audienceClaim(raw); err != nil {
		return claimSet{}, err
	}
	return c, nil
}

func stringClaim(raw map[string]json.RawMessage, name string) (*string, error) {
	v, ok := raw[name]
	if !ok || string(v) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("%w: %s is not a string", errClaims, name)
	}
	return &s, nil
}

func dateClaim(raw map[string]json.RawMessage, name string) (numericDate, error) {
	v, ok := raw[name]
	if !ok || string(v) == "null" {
		return numericDate{}, nil
	}
	// encoding/json would also decode a quoted number into json.Number; a
	// NumericDate is a JSON number (RFC 7519 section 2), nothing else.
	var n json.Number
	if len(v) == 0 || v[0] == '"' || json.Unmarshal(v, &n) != nil {
		return numericDate{}, fmt.Errorf("%w: %s is not a number", errClaims, name)
	}
	f, err := n.Float64()
	// Zero and negative dates are rejected outright: some libraries read
	// exp=0 as "no expiry" (jwx v2 does), which would make a token eternal.
	if err != nil || f <= 0 || f > math.MaxInt32*1000 || math.IsNaN(f) {
		return numericDate{}, fmt.Errorf("%w: %s is not a positive NumericDate", errClaims, name)
	}
	sec, frac := math.Modf(f)
	return numericDate{t: time.Unix(int64(sec), int64(frac*1e9)), set: true}, nil
}

func audienceClaim(raw map[string]json.RawMessage) ([]string, bool, error) {
	v, ok := raw["aud"]
	if !ok || string(v) == "null" {
		return nil, false, nil
	}
	var one string
	if err := json.Unmarshal(v, &one); err == nil {
		return []string{one}, true, nil
	}
	var many []string
	if err := json.Unmarshal(v, &many); err != nil {
		return nil, false, fmt.Errorf("%w: aud is neither a string nor an array of strings", errClaims)
	}
	return many, true, nil
}

// check applies every claim rule and builds Claims. now is the verifier's
// clock. The rules run in a fixed order and the first failure is the
// reason given.
func (v *Verifier) check(c claimSet, now time.Time) (Claims, error) {
	if err := v.checkIssuer(c); err != nil {
		return Claims{}, err
	}
	if err := v.checkAudience(c); err != nil {
		return Claims{}, err
	}
	if err := v.checkLifetime(c, now); err != nil {
		return Claims{}, err
	}
	if err := checkType(c); err != nil {
		return Claims{}, err
	}
	out := Claims{
		Audience: slices.Clone(c.aud),
		Expiry:   c.exp.t,
		IssuedAt: c.iat.t,
	}
	if c.sub != nil {
		out.Subject = *c.sub
	}
	if err := v.identify(c, &out); err != nil {
		return Claims{}, err
	}
	return out, nil
}

// checkIssuer binds the token to our team: another team's token is signed
// by another account's keys, but checking iss exactly also guards a
// CertsURL that points somewhere shared.
func (v *Verifier) checkIssuer(c claimSet) error {
	if c.iss == nil {
		return fmt.Errorf("%w: no iss", errIssuer)
	}
	if *c.iss != v.cfg.TeamDomain {
		return fmt.Errorf("%w: iss %s, want %q", errIssuer, echo(*c.iss), v.cfg.TeamDomain)
	}
	return nil
}

// checkAudience binds the token to this application. Access signing keys
// are shared by every application of the account, so without this check a
// token minted for any other app (a less trusted one, or one whose policy
// admits more people) would be accepted here.
func (v *Verifier) checkAudience(c claimSet) error {
	if !c.audSet || len(c.aud) == 0 {
		return fmt.Errorf("%w: no aud", errAudience)
	}
	if !slices.ContainsFunc(c.aud, func(a string) bool { return slices.Contains(v.cfg.Audiences, a) }) {
		return fmt.Errorf("%w: aud has none of the %d configured AUD tags", errAudience, len(v.cfg.Audiences))
	}
	return nil
}

// checkLifetime applies exp, nbf and iat with the configured skew.
func (v *Verifier) checkLifetime(c claimSet, now time.Time) error {
	skew := v.cfg.Skew
	// exp is required: a token without one would be valid forever once
	// leaked (from a log, a proxy, a browser history).
	if !c.exp.set {
		return errMissingExp
	}
	if !now.Before(c.exp.t.Add(skew)) {
		return dateErr(errExpired, "exp", c.exp.t, now, skew)
	}
	if c.nbf.set && now.Add(skew).Before(c.nbf.t) {
		return dateErr(errNotYetValid, "nbf", c.nbf.t, now, skew)
	}
	// A token "issued" in the future was minted with a wrong clock or to
	// outlive its stated lifetime; Cloudflare never does either.
	if c.iat.set && now.Add(skew).Before(c.iat.t) {
		return dateErr(errIssuedInFuture, "iat", c.iat.t, now, skew)
	}
	return nil
}

func dateErr(reason error, claim string, t, now time.Time, skew time.Duration) error {
	return fmt.Errorf("%w: %s %s, now %s, skew %s", reason, claim, t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), skew)
}

// checkType accepts only type "app", an application token: proof that this
// application's Access policy admitted the caller. Cloudflare also signs
// "org" tokens (the team-wide login session, which admits to no
// application in particular) with the same keys; accepting one, should its
// aud ever match, would skip the application's policy.
func checkType(c claimSet) error {
	if c.typ != nil && *c.typ == "app" {
		return nil
	}
	got := "none"
	if c.typ != nil {
		got = echo(*c.typ)
	}
	return fmt.Errorf("%w: type %s", errType, got)
}

// identify sets the caller's identity in out: a user (email) or a mapped
// service token (common_name), exactly one of the two.
func (v *Verifier) identify(c claimSet, out *Claims) error {
	email := ""
	if c.email != nil {
		email = strings.TrimSpace(*c.email)
	}
	cn := ""
	if c.commonName != nil {
		cn = *c.commonName
	}

	switch {
	case cn != "" && email != "":
		// One token, two identities: whichever a caller reads, the other
		// is unaccounted for. Cloudflare never issues this shape.
		return fmt.Errorf("%w: both email and common_name present", errIdentity)
	case cn != "":
		// Service tokens carry no user, only a Client ID. Any service token
		// created in the account can reach an application whose policy
		// admits it, so we admit only the ones the operator mapped by name.
		name, ok := v.cfg.ServiceTokens[cn]
		if !ok {
			return fmt.Errorf("%w: common_name %s", errUnmappedService, echo(cn))
		}
		out.Service = name
		out.CommonName = cn
	case email != "":
		out.Email = *c.email
	default:
		return fmt.Errorf("%w: neither email nor common_name", errIdentity)
	}
	return nil
}
