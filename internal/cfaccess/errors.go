package cfaccess

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidToken is wrapped by every rejection of a token. The wrapping
	// error names a precise reason for server logs; it never contains the
	// token. Callers answer 401 and show the client no detail.
	ErrInvalidToken = errors.New("cfaccess: invalid token")

	// ErrNotReady is returned by Verify until a key set has been loaded once.
	// It is not an ErrInvalidToken: the token was not judged, the server is
	// not ready (readiness probes see Ready() == false meanwhile).
	ErrNotReady = errors.New("cfaccess: signing keys not loaded yet")
)

// Rejection reasons. Each wraps ErrInvalidToken; detail, when any, is added
// by wrapping once more. Unexported so the reason set can change without an
// API change; tests match them by identity.
var (
	errTooLarge        = invalid("token larger than MaxTokenBytes")
	errMalformed       = invalid("malformed token")
	errHeader          = invalid("unacceptable header")
	errAlgorithm       = invalid("algorithm not allowed")
	errMissingKID      = invalid("missing kid")
	errUnknownKID      = invalid("unknown kid")
	errSignature       = invalid("signature verification failed")
	errClaims          = invalid("malformed claims")
	errIssuer          = invalid("issuer mismatch")
	errAudience        = invalid("audience mismatch")
	errMissingExp      = invalid("missing exp")
	errExpired         = invalid("token expired")
	errNotYetValid     = invalid("token not valid yet (nbf)")
	errIssuedInFuture  = invalid("token issued in the future (iat)")
	errType            = invalid("token type is not app")
	errIdentity        = invalid("no usable identity")
	errUnmappedService = invalid("service token not mapped")
)

// reasons label the rejections for metrics (Reason).
var reasons = []struct {
	err   error
	label string
}{
	{errTooLarge, "too_large"}, {errMalformed, "malformed"}, {errHeader, "header"}, {errAlgorithm, "algorithm"},
	{errMissingKID, "missing_kid"}, {errUnknownKID, "unknown_kid"}, {errSignature, "signature"}, {errClaims, "claims"},
	{errIssuer, "issuer"}, {errAudience, "audience"}, {errMissingExp, "missing_exp"}, {errExpired, "expired"},
	{errNotYetValid, "not_yet_valid"}, {errIssuedInFuture, "issued_in_future"}, {errType, "type"},
	{errIdentity, "identity"}, {errUnmappedService, "unmapped_service"},
}

// Reason names the rejection err carries in a small fixed vocabulary, fit
// for a metric label ("expired", "audience", "signature", ...): "invalid"
// for a rejection without a finer reason, "" when err is no rejection.
func Reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	if errors.Is(err, ErrInvalidToken) {
		return "invalid"
	}
	return ""
}

func invalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, reason)
}

// maxEcho bounds how much of an attacker-chosen header value (alg, kid) is
// repeated in a reason, so a log line cannot be inflated by a token.
const maxEcho = 64

// echo quotes an attacker-controlled value for a log line: %q escapes
// control characters (no log injection) and the length is bounded.
func echo(s string) string {
	if len(s) > maxEcho {
		s = s[:maxEcho] + "..."
	}
	return fmt.Sprintf("%q", s)
}
