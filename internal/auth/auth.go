// Package auth turns an HTTP request into a verified identity. It knows the
// three authentication modes (cloudflare, trusted-header, dev) and nothing
// about tenants or roles: those come from the database, never from a token.
package auth

import (
	"errors"
	"net/http"

	"github.com/pgtenant/pgtenant/internal/cfaccess"
	"github.com/pgtenant/pgtenant/internal/tenancy/rules"
)

// Mode names an authentication mode (AUTH_MODE).
type Mode string

// The authentication modes.
const (
	// ModeCloudflare verifies the Cloudflare Access JWT (production default).
	ModeCloudflare Mode = "cloudflare"
	// ModeTrustedHeader reads Cloudflare's authenticated-email header, only
	// from peers inside TRUSTED_PROXY_CIDRS.
	ModeTrustedHeader Mode = "trusted-header"
	// ModeDev uses a fixed identity from configuration; loopback only.
	ModeDev Mode = "dev"
)

// Identity is who a request is, once verified.
type Identity struct {
	// Email is normalized (rules.NormalizeEmail); it is what maps the
	// identity to a user row. Mapped service tokens carry the email of the
	// service identity they are mapped to.
	Email string
	// Service is the mapped service identity's name, empty for people.
	Service string
	// Method is how the identity was established (the Mode).
	Method Mode
}

// Errors an Authenticator returns.
var (
	// ErrUnauthenticated: no credential, or one that does not verify. The
	// client gets a 401 with no detail; the wrapped reason goes to the log.
	ErrUnauthenticated = errors.New("auth: unauthenticated")
	// ErrNotReady: the authenticator cannot verify anything yet (no key set
	// ever loaded). The client gets a 503, never a pass.
	ErrNotReady = errors.New("auth: not ready")

	// ErrNoCredential: the request carries no credential at all; wrapped
	// with ErrUnauthenticated.
	ErrNoCredential = errors.New("no credential")

	// Finer reasons, wrapped with ErrUnauthenticated (FailureClass).
	errUntrustedPeer = errors.New("untrusted peer")
	errBadIdentity   = errors.New("no usable identity")
)

// FailureClass names why authentication failed, in a small fixed
// vocabulary fit for a metric label: "missing" (no credential),
// "untrusted_peer" (trusted-header mode), "bad_identity", "not_ready", or
// the token's rejection reason in cloudflare mode ("expired", "audience",
// "signature", ...; see cfaccess.Reason); "" when err is nil.
func FailureClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotReady):
		return "not_ready"
	case errors.Is(err, ErrNoCredential):
		return "missing"
	case errors.Is(err, errUntrustedPeer):
		return "untrusted_peer"
	case errors.Is(err, errBadIdentity):
		return "bad_identity"
	}
	if r := cfaccess.Reason(err); r != "" {
		return r
	}
	return "other"
}

// Authenticator verifies a request's identity.
type Authenticator interface {
	Authenticate(r *http.Request) (Identity, error)
	// Ready reports whether the authenticator can verify requests.
	Ready() bool
	// Mode names the authenticator.
	Mode() Mode
}

// devAuth is the dev mode: every request is the configured identity.
type devAuth struct{ id Identity }

// Dev returns the dev-mode authenticator. The caller refuses non-loopback
// listen addresses; this mode authenticates anyone who can connect.
func Dev(email string) (Authenticator, error) {
	e := rules.NormalizeEmail(email)
	if !rules.ValidEmail(e) {
		return nil, errors.New("auth: DEV_USER_EMAIL is not an email address")
	}
	return &devAuth{id: Identity{Email: e, Method: ModeDev}}, nil
}

func (d *devAuth) Authenticate(*http.Request) (Identity, error) { return d.id, nil }
func (d *devAuth) Ready() bool                                  { return true }
func (d *devAuth) Mode() Mode                                   { return ModeDev }
