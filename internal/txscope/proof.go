package txscope

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgtenant/pgtenant/internal/ctxproof"
)

// Context proofs. app.enter establishes a tenant context only for a caller
// that presents a proof (package ctxproof): an HMAC-SHA256 over every
// argument of the call and an expiry, keyed by a secret the runtime role
// cannot read (app_private.context_keys, created by migrations). The
// server reads the key through its admin pool and signs each app.enter it
// sends, so a session of the runtime role that the server did not hand a
// proof to (a leaked DATABASE_URL, psql, one injected statement) cannot
// enter any context.

// ProofTTL is how long a proof the server signs for one app.enter stays
// valid: long enough for the database's clock to lag the server's a little,
// short enough that a proof copied from a log is soon useless.
const ProofTTL = 2 * time.Minute

// DefaultKeyRefresh is how often a Scope re-reads the context keys, so a
// rotated key reaches every server well inside the rotation's grace period.
const DefaultKeyRefresh = time.Minute

// contextKey is one key of app_private.context_keys.
type contextKey struct {
	id     int32
	secret []byte
}

// keySnapshot is the signing key as read at some time.
type keySnapshot struct {
	key  contextKey
	read time.Time
}

// keyring caches the signing key of a Scope.
type keyring struct {
	snap       atomic.Pointer[keySnapshot]
	refreshing atomic.Bool
	every      time.Duration
}

// sign makes the proof app.enter(email, tenant, readOnly, proof) accepts
// until expires.
func (k contextKey) sign(email, tenant string, readOnly bool, expires time.Time) string {
	return ctxproof.Sign(k.id, k.secret, email, tenant, readOnly, expires)
}

// keysQuerier is what reads the keys: the admin pool, or the connection of
// an admin transaction.
type keysQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// readSigningKey returns the newest key that is not being retired.
func readSigningKey(ctx context.Context, q keysQuerier) (contextKey, error) {
	rows, err := q.Query(ctx, "SELECT id, secret FROM app.context_keys() WHERE not_after IS NULL ORDER BY id DESC LIMIT 1")
	if err != nil {
		return contextKey{}, fmt.Errorf("%w: %w", ErrContextKey, err)
	}
	k, err := pgx.CollectExactlyOneRow(rows, func(r pgx.CollectableRow) (contextKey, error) {
		var k contextKey
		return k, r.Scan(&k.id, &k.secret)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return contextKey{}, fmt.Errorf("%w: no current key (run `server context-key rotate`)", ErrContextKey)
	}
	if err != nil {
		return contextKey{}, fmt.Errorf("%w: %w", ErrContextKey, err)
	}
	return k, nil
}

// signingKey returns the cached key, reading it through the admin pool the
// first time (and after the database refused a proof); a key older than
// the refresh interval is used once more while a background read replaces
// it.
func (s *Scope) signingKey(ctx context.Context) (contextKey, error) {
	if snap := s.keys.snap.Load(); snap != nil {
		if time.Since(snap.read) > s.keys.every && s.keys.refreshing.CompareAndSwap(false, true) {
			go func() {
				defer s.keys.refreshing.Store(false)
				rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if _, err := s.loadKey(rctx); err != nil {
					s.log.Warn("txscope: re-reading the context key failed; signing with the previous one", "err", err)
				}
			}()
		}
		return snap.key, nil
	}
	return s.loadKey(ctx)
}

func (s *Scope) loadKey(ctx context.Context) (contextKey, error) {
	if s.admin == nil {
		return contextKey{}, fmt.Errorf("%w: tenant scopes sign app.enter with a key read through ADMIN_DATABASE_URL, which is not configured", ErrContextKey)
	}
	k, err := readSigningKey(ctx, s.admin)
	if err != nil {
		return contextKey{}, err
	}
	s.keys.snap.Store(&keySnapshot{key: k, read: time.Now()})
	return k, nil
}

// forgetKey makes the next scope read the key again (the database refused
// a proof: the key was rotated and retired, or the table restored).
func (s *Scope) forgetKey(err error) {
	if errors.Is(err, ErrContextKey) {
		s.keys.snap.Store(nil)
	}
}

// proof signs app.enter(who.Email, who.Tenant, readOnly) for ProofTTL.
func (s *Scope) proof(ctx context.Context, who Who, readOnly bool) (string, error) {
	k, err := s.signingKey(ctx)
	if err != nil {
		return "", err
	}
	return k.sign(who.Email, who.Tenant, readOnly, time.Now().Add(ProofTTL)), nil
}

// MaxProofTTL bounds ContextProof: a proof for a person at a psql prompt.
const MaxProofTTL = 12 * time.Hour

// ContextProof signs, for an operator, the proof that lets
// app.enter(who.Email, who.Tenant, readOnly, proof) establish that context
// until ttl from now: what `server context-proof` prints for `TENANT=...
// make psql`. It reads the key and writes an audit row (action
// context.proof, with the email, tenant and expiry) in one admin
// transaction, so impersonating a user through psql leaves a trace.
func (s *Scope) ContextProof(ctx context.Context, actor Actor, reason string, who Who, readOnly bool, ttl time.Duration) (string, error) {
	if ttl <= 0 || ttl > MaxProofTTL {
		return "", fmt.Errorf("txscope: proof lifetime must be between 0 and %s", MaxProofTTL)
	}
	var proof string
	expires := time.Now().Add(ttl)
	_, err := s.Admin(ctx, actor, "context.proof", reason, func(tx *AdminTx) error {
		k, err := readSigningKey(ctx, tx.conn)
		if err != nil {
			return err
		}
		tx.Detail("email", who.Email)
		tx.Detail("tenant", who.Tenant)
		tx.Detail("read_only", readOnly)
		tx.Detail("expires", expires.UTC().Format(time.RFC3339))
		proof = k.sign(who.Email, who.Tenant, readOnly, expires)
		return nil
	})
	if err != nil {
		return "", err
	}
	return proof, nil
}

// RotateContextKey adds a context key and retires the others after grace,
// in an audited admin transaction (action context-key.rotate). Servers
// pick the new key up within their refresh interval (DefaultKeyRefresh);
// proofs and seals made with a retired key verify as nothing once its grace
// ends. It returns the new key's id.
func (s *Scope) RotateContextKey(ctx context.Context, actor Actor, reason string, grace time.Duration) (int32, error) {
	var id int32
	_, err := s.Admin(ctx, actor, "context-key.rotate", reason, func(tx *AdminTx) error {
		tx.Detail("grace", grace.String())
		return tx.conn.QueryRow(ctx, "SELECT app.context_key_rotate(make_interval(secs => $1))", grace.Seconds()).Scan(&id)
	})
	if err == nil {
		s.keys.snap.Store(nil)
	}
	return id, err
}

var _ keysQuerier = (*pgxpool.Pool)(nil)
