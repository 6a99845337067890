// Package cfaccess verifies Cloudflare Access JWTs (the
// Cf-Access-Jwt-Assertion header) and turns them into Claims. It knows
// nothing of HTTP servers: the web layer extracts the token and calls
// Verify.
//
// Guarantees:
//   - Claims come only out of Verify, and only after the RS256 signature
//     has been checked with a key from the team's key set that the token's
//     kid names. No code path returns claims from an unverified token.
//   - The algorithm is pinned to RS256 by this package; the token's header
//     cannot choose it, and header parameters that point at keys (jku,
//     x5u, jwk, x5c) are never fetched or used.
//   - iss, aud, exp, nbf, iat and type are checked as in DESIGN.md; service
//     tokens are accepted only when their common_name is mapped.
//   - Key fetches caused by tokens are bounded to one per
//     Config.MinRefreshInterval; a failed fetch keeps the last good key set.
//
// Keys are fetched by this package rather than through jwx's jwk.Cache:
// in jwx v2.1.7 (httprc v1.0.6) every Cache.Refresh call adds another
// periodic refresh chain that never goes away, so refreshing on unknown
// kids would multiply background fetches over the life of the process; a
// failed first fetch is also never retried by Cache.Get, and fetches ignore
// their context. jwx is used to parse the key set and verify signatures.
package cfaccess

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Verifier verifies Cloudflare Access tokens against a team's key set,
// which it keeps fresh in the background. It is safe for concurrent use.
// Create one with New and stop it with Close.
type Verifier struct {
	cfg Config
	log *slog.Logger

	keys atomic.Pointer[keySet] // last good key set; nil until one loads

	mu          sync.Mutex
	inflight    *refreshCall // the fetch under way, joined by later callers
	lastAttempt time.Time    // start of the last fetch, for the rate bound
	closed      bool

	ctx       context.Context // lives until Close; cancels fetches
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type refreshCall struct {
	done chan struct{}
	err  error // written before done is closed
}

// New validates cfg and starts a Verifier. A bad config is an error (a
// *ConfigError naming the field). A key set that cannot be fetched is not:
// New still returns a Verifier, with Ready() false and Verify answering
// ErrNotReady, and keeps retrying in the background every
// MinRefreshInterval, so the server can boot and report itself not ready.
//
// ctx bounds only the initial fetch; background work runs until Close.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	cfg, err := cfg.validated()
	if err != nil {
		return nil, err
	}
	lifetime, cancel := context.WithCancel(context.WithoutCancel(ctx))
	v := &Verifier{
		cfg:    cfg,
		log:    cfg.Logger.With(slog.String("component", "cfaccess"), slog.String("certs_url", cfg.CertsURL)),
		ctx:    lifetime,
		cancel: cancel,
	}

	if call := v.startRefresh(false); call != nil {
		select {
		case <-call.done:
		case <-ctx.Done():
			// The fetch goes on in the background and makes us ready when
			// it succeeds.
		}
	}
	if !v.Ready() {
		v.log.Warn("cfaccess: no signing keys loaded at start; not ready, retrying in the background",
			slog.Duration("retry_every", cfg.MinRefreshInterval))
	}

	v.wg.Add(1)
	go v.refreshLoop()
	return v, nil
}

// Ready reports whether a key set has loaded at least once. Until then
// Verify returns ErrNotReady.
func (v *Verifier) Ready() bool { return v.keys.Load() != nil }

// Close stops background refreshing and waits for it to end. Verify keeps
// working with the keys already loaded, without refreshing. Close is
// idempotent.
func (v *Verifier) Close() {
	v.closeOnce.Do(func() {
		v.mu.Lock()
		v.closed = true
		v.mu.Unlock()
		v.cancel()
		v.wg.Wait()
	})
}

// Verify checks token and returns its claims. Any rejection wraps
// ErrInvalidToken with the reason (never the token); ErrNotReady means no
// key set has loaded yet. ctx bounds the wait for a key refresh that an
// unknown kid may trigger.
//
// Verify is the single entry point, so a cache of verified tokens can wrap
// it (keyed by the exact token, never kept past Claims.Expiry).
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	// Size first, before decoding anything: an oversized header must cost
	// us a length comparison, not a base64 decode, a JSON parse or a fetch.
	if len(token) > v.cfg.MaxTokenBytes {
		return Claims{}, fmt.Errorf("%w: %d bytes, limit %d", errTooLarge, len(token), v.cfg.MaxTokenBytes)
	}
	headerB64, err := splitCompact(token)
	if err != nil {
		return Claims{}, err
	}
	kid, err := checkHeader(headerB64)
	if err != nil {
		return Claims{}, err
	}

	key, err := v.key(ctx, kid)
	if err != nil {
		return Claims{}, err
	}

	// The algorithm is RS256 because we say so here, not because the header
	// says so (checkHeader has already refused anything else): this closes
	// alg confusion, e.g. HS256 with the RSA public key as HMAC secret, or
	// "none". The key is the one our key set holds under kid; no header
	// parameter (jku, x5u, jwk, x5c) can supply or locate a key, which
	// closes key injection. WithCompact refuses the JSON serializations,
	// whose several signatures or unprotected headers have no place here.
	payload, err := jws.Verify([]byte(token), jws.WithKey(jwa.RS256, key), jws.WithCompact())
	if err != nil {
		// jwx's message is not logged: it may quote decoded token content.
		return Claims{}, errSignature
	}

	claims, err := decodeClaims(payload)
	if err != nil {
		return Claims{}, err
	}
	return v.check(claims, v.cfg.now())
}

// splitCompact checks the JWS compact shape, header.payload.signature, with
// only base64url characters, and returns the header segment.
func splitCompact(token string) (string, error) {
	if token == "" {
		return "", fmt.Errorf("%w: empty", errMalformed)
	}
	if n := strings.Count(token, ".") + 1; n != 3 {
		// 5 segments would be a JWE: Access never encrypts its tokens.
		return "", fmt.Errorf("%w: %d segments, want 3", errMalformed, n)
	}
	header, rest, _ := strings.Cut(token, ".")
	payload, sig, _ := strings.Cut(rest, ".")
	if header == "" || payload == "" || sig == "" {
		// An empty signature is what alg "none" produces.
		return "", fmt.Errorf("%w: empty segment", errMalformed)
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", fmt.Errorf("%w: character outside base64url at offset %d", errMalformed, i)
		}
	}
	return header, nil
}

// checkHeader decodes the protected header, enforces alg RS256 and returns
// the kid.
func checkHeader(headerB64 string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(headerB64)
	if err != nil {
		return "", fmt.Errorf("%w: header is not base64url", errMalformed)
	}
	// Unmarshal, not a Decoder: Decoder.More reports a trailing "}" or "]"
	// as the end of input, so `{"alg":"RS256","kid":"k"}}` passed as one
	// object (FuzzTokenPreParse found it).
	var h map[string]json.RawMessage
	if err := json.Unmarshal(raw, &h); err != nil || h == nil {
		return "", fmt.Errorf("%w: header is not a JSON object", errMalformed)
	}

	var alg string
	if err := json.Unmarshal(h["alg"], &alg); err != nil {
		return "", fmt.Errorf("%w: alg missing or not a string", errAlgorithm)
	}
	// Exact, case-sensitive match: "none" in any casing, HS256 (keyed with
	// our public key by an attacker), RS384/PS256/ES256 and everything else
	// is refused before any key is looked up.
	if alg != jwa.RS256.String() {
		return "", fmt.Errorf("%w: alg %s", errAlgorithm, echo(alg))
	}

	// "crit" names extensions the recipient must understand or reject
	// (RFC 7515 section 4.1.11); we understand none. "b64": false
	// (RFC 7797) changes what the signature covers; Access never uses it.
	for _, name := range []string{"crit", "b64"} {
		if _, ok := h[name]; ok {
			return "", fmt.Errorf("%w: %s", errHeader, name)
		}
	}

	var kid string
	if v, ok := h["kid"]; ok {
		if err := json.Unmarshal(v, &kid); err != nil {
			return "", fmt.Errorf("%w: kid is not a string", errHeader)
		}
	}
	if kid == "" {
		// Without a kid we would have to try every key in the set; we
		// never do (one token, one key).
		return "", errMissingKID
	}
	return kid, nil
}

// key returns the verification key named kid. The kid is only ever a map
// key: it is never part of a path, a URL, a query or a file name, so values
// like "../../etc/passwd" or "' OR 1=1 --" are just unknown kids.
func (v *Verifier) key(ctx context.Context, kid string) (any, error) {
	if k, err := v.lookup(kid); err == nil {
		return k, nil
	}
	// Unknown kid (or nothing loaded yet): Cloudflare may have rotated its
	// keys. Refresh, at most once per MinRefreshInterval whatever the rate
	// of such tokens, so random kids cannot turn us into a request
	// amplifier against the certs endpoint; then look again, once.
	if call := v.startRefresh(true); call != nil {
		select {
		case <-call.done:
		case <-ctx.Done():
		}
	}
	return v.lookup(kid)
}

func (v *Verifier) lookup(kid string) (any, error) {
	ks := v.keys.Load()
	if ks == nil {
		return nil, ErrNotReady
	}
	k, ok := ks.byKID[kid]
	if !ok {
		return nil, fmt.Errorf("%w: kid %s", errUnknownKID, echo(kid))
	}
	return k, nil
}

// startRefresh starts a key fetch, or joins the one under way, and returns
// it; it returns nil when the Verifier is closed or, if rateLimited, when
// the last fetch started less than MinRefreshInterval ago. The fetch runs
// on the Verifier's context, so a caller giving up does not cancel it for
// the others waiting on it.
func (v *Verifier) startRefresh(rateLimited bool) *refreshCall {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	if v.inflight != nil {
		return v.inflight
	}
	now := v.cfg.now()
	if rateLimited && !v.lastAttempt.IsZero() && now.Sub(v.lastAttempt) < v.cfg.MinRefreshInterval {
		return nil
	}
	v.lastAttempt = now
	call := &refreshCall{done: make(chan struct{})}
	v.inflight = call
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		call.err = v.refresh()
		v.mu.Lock()
		v.inflight = nil
		v.mu.Unlock()
		close(call.done)
	}()
	return call
}

// refresh fetches the key set and, on success, publishes it. On failure the
// previous set keeps serving. Errors are logged here, once.
func (v *Verifier) refresh() error {
	ks, err := fetchKeys(v.ctx, v.cfg.HTTPClient, v.cfg.CertsURL)
	if err != nil {
		if v.ctx.Err() == nil {
			v.log.Warn("cfaccess: key refresh failed; keeping the last good key set",
				slog.Bool("ready", v.Ready()), slog.Any("err", err))
		}
		return err
	}
	old := v.keys.Swap(ks)
	if old == nil || !equalKIDs(old, ks) {
		v.log.Info("cfaccess: signing keys loaded", slog.Any("kids", ks.kids()))
	}
	return nil
}

func equalKIDs(a, b *keySet) bool {
	if len(a.byKID) != len(b.byKID) {
		return false
	}
	for kid := range a.byKID {
		if _, ok := b.byKID[kid]; !ok {
			return false
		}
	}
	return true
}

// refreshLoop refreshes every RefreshInterval (jittered). While nothing has
// loaded it retries every MinRefreshInterval; after failures with a set
// loaded it backs off from MinRefreshInterval up to RefreshInterval.
func (v *Verifier) refreshLoop() {
	defer v.wg.Done()
	failures := 0
	for {
		var wait time.Duration
		switch {
		case !v.Ready():
			wait = v.cfg.MinRefreshInterval
		case failures == 0:
			wait = jitter(v.cfg.RefreshInterval)
		default:
			wait = v.cfg.RefreshInterval
			if shift := failures - 1; shift < 16 {
				wait = min(v.cfg.MinRefreshInterval<<shift, v.cfg.RefreshInterval)
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-v.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		call := v.startRefresh(false)
		if call == nil {
			return
		}
		select {
		case <-v.ctx.Done():
			return
		case <-call.done:
		}
		if call.err != nil {
			failures++
		} else {
			failures = 0
		}
	}
}

// jitter spreads d by ±10%.
func jitter(d time.Duration) time.Duration {
	spread := int64(d / 5)
	if spread <= 0 {
		return d
	}
	return d - d/10 + time.Duration(rand.Int64N(spread))
}
