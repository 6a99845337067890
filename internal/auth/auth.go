// Package auth turns an HTTP request into a verified identity. It knows the
// three authentication modes (cloudflare, trusted-header, dev) and nothing
// about tenants or roles: those come from the database, never from a token.
package auth

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

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

	// ErrMisdirected: a dev-mode request for a Host that is not a loopback
	// name (421): what a DNS-rebinding page sends.
	ErrMisdirected = errors.New("auth: dev mode answers loopback host names only")

	// Finer reasons, wrapped with ErrUnauthenticated (FailureClass).
	errUntrustedPeer = errors.New("untrusted peer")
	errBadIdentity   = errors.New("no usable identity")
	errAmbiguous     = errors.New("more than one credential")
)

// FailureClass names why authentication failed, in a small fixed
// vocabulary fit for a metric label: "missing" (no credential),
// "untrusted_peer" (trusted-header mode), "bad_identity", "ambiguous" (two
// identity headers, assertions or cookies), "misdirected" (dev mode, a
// Host that is not loopback), "not_ready", or
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
	case errors.Is(err, errAmbiguous):
		return "ambiguous"
	case errors.Is(err, ErrMisdirected):
		return "misdirected"
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
// listen addresses; this mode authenticates anyone who can connect, so it
// also refuses requests for a Host that is not a loopback name
// (LoopbackHost): a page on another origin whose DNS name the attacker
// re-points at 127.0.0.1 (DNS rebinding) reaches the listener, but its
// requests carry the attacker's host name.
func Dev(email string) (Authenticator, error) {
	e := rules.NormalizeEmail(email)
	if !rules.ValidEmail(e) {
		return nil, errors.New("auth: DEV_USER_EMAIL is not an email address")
	}
	return &devAuth{id: Identity{Email: e, Method: ModeDev}}, nil
}

func (d *devAuth) Authenticate(r *http.Request) (Identity, error) {
	if !LoopbackHost(r.Host) {
		return Identity{}, fmt.Errorf("%w: Host %q", ErrMisdirected, r.Host)
	}
	return d.id, nil
}

// LoopbackHost reports whether an HTTP Host header names this machine by a
// loopback name: localhost, 127.0.0.1 or [::1], with or without a port
// (case-insensitive). Nothing else, not even other 127/8 addresses or a
// trailing dot: the list is what a developer types.
func LoopbackHost(host string) bool {
	h := strings.ToLower(host)
	if name, port, err := net.SplitHostPort(h); err == nil {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return false
		}
		return name == "localhost" || name == "127.0.0.1" || name == "::1" // SplitHostPort took [::1]'s brackets
	}
	return h == "localhost" || h == "127.0.0.1" || h == "[::1]"
}

func (d *devAuth) Ready() bool { return true }
func (d *devAuth) Mode() Mode  { return ModeDev }
