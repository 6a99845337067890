package cfaccess

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

const (
	// maxJWKSBytes bounds the certs response we read. Cloudflare's is a few
	// KiB; a hostile or broken endpoint must not make us buffer gigabytes.
	maxJWKSBytes = 1 << 20

	// minRSABits rejects weak keys in the published set.
	minRSABits = 2048
)

// keySet is an immutable snapshot of the usable signing keys, by kid. Only
// RSA public keys usable for RS256 signatures are kept, so a key of another
// type, or one published for another algorithm, can never be selected.
type keySet struct {
	byKID map[string]*rsa.PublicKey
}

func (s *keySet) kids() []string {
	kids := make([]string, 0, len(s.byKID))
	for kid := range s.byKID {
		kids = append(kids, kid)
	}
	slices.Sort(kids)
	return kids
}

// fetchKeys downloads and parses the key set. It fails, leaving the caller
// to keep the last good set, when the response is not a 200 with at least
// one usable key: an empty or garbled answer from a broken endpoint must
// not lock every user out.
func fetchKeys(ctx context.Context, client *http.Client, certsURL string) (*keySet, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultHTTPTimeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, certsURL, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch keys: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch keys: status %s", resp.Status)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("fetch keys: response larger than %d bytes", maxJWKSBytes)
	}
	return parseKeys(body)
}

// parseKeys turns a JWKS document (Cloudflare's certs response: "keys" plus
// "public_cert"/"public_certs", which are ignored) into a keySet.
func parseKeys(body []byte) (*keySet, error) {
	// WithIgnoreParseError: one key of a type jwx cannot parse must not
	// throw away the RSA keys next to it.
	set, err := jwk.Parse(body, jwk.WithIgnoreParseError(true))
	if err != nil {
		return nil, fmt.Errorf("parse keys: %w", err)
	}
	ks := &keySet{byKID: make(map[string]*rsa.PublicKey, set.Len())}
	var skipped []error
	for i := range set.Len() {
		k, _ := set.Key(i)
		pub, err := usableKey(k)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("key %d (kid %s): %w", i, echo(k.KeyID()), err))
			continue
		}
		if _, dup := ks.byKID[k.KeyID()]; dup {
			// Two keys under one kid is ambiguous; keep the first rather
			// than try both (trying several keys is what kid selection
			// exists to avoid).
			skipped = append(skipped, fmt.Errorf("key %d: duplicate kid %s", i, echo(k.KeyID())))
			continue
		}
		ks.byKID[k.KeyID()] = pub
	}
	if len(ks.byKID) == 0 {
		return nil, fmt.Errorf("parse keys: no usable RS256 key among %d: %w", set.Len(), errors.Join(skipped...))
	}
	return ks, nil
}

// usableKey returns the RSA public key of k if k may verify RS256 signatures.
func usableKey(k jwk.Key) (*rsa.PublicKey, error) {
	if k.KeyID() == "" {
		// Without a kid the key could only be found by trying every key.
		return nil, errors.New("no kid")
	}
	if k.KeyType() != jwa.RSA {
		return nil, fmt.Errorf("key type %s is not RSA", k.KeyType())
	}
	if _, ok := k.(jwk.RSAPublicKey); !ok {
		// A private key published by mistake is not used either.
		return nil, errors.New("not an RSA public key")
	}
	if use := k.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return nil, fmt.Errorf("use %q is not sig", use)
	}
	if alg := k.Algorithm().String(); alg != "" && alg != jwa.RS256.String() {
		return nil, fmt.Errorf("alg %q is not RS256", alg)
	}
	var pub rsa.PublicKey
	if err := k.Raw(&pub); err != nil {
		return nil, fmt.Errorf("raw key: %w", err)
	}
	if pub.N == nil || pub.N.BitLen() < minRSABits {
		return nil, fmt.Errorf("RSA key shorter than %d bits", minRSABits)
	}
	return &pub, nil
}
