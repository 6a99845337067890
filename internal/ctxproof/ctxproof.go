// Package ctxproof makes the proofs app.enter demands before it
// establishes a tenant context (db/schema/0004_guard.up.sql checks them):
//
//	v1.<key id>.<expiry, unix seconds>.<hex HMAC-SHA256(key, message)>
//	message = "pgtenant-enter-v1|" len(email) ":" email "|" len(tenant) ":" tenant "|" ("t"|"f") "|" expiry
//
// with lengths in bytes, so no (email, tenant) pair reads as another. The
// HMAC covers every argument of app.enter: a proof for one user, tenant or
// read-only transaction is no proof for another. The key is a row of
// app_private.context_keys, which the runtime role cannot read.
//
// It is a leaf package so that txscope (which signs every app.enter it
// sends) and the test harness (which signs for raw-SQL tests) share one
// implementation.
package ctxproof

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Message returns the bytes a proof's HMAC covers.
func Message(email, tenant string, readOnly bool, expires int64) []byte {
	ro := "f"
	if readOnly {
		ro = "t"
	}
	return []byte("pgtenant-enter-v1|" + strconv.Itoa(len(email)) + ":" + email + "|" +
		strconv.Itoa(len(tenant)) + ":" + tenant + "|" + ro + "|" + strconv.FormatInt(expires, 10))
}

// Sign returns the proof that lets app.enter(email, tenant, readOnly, proof)
// establish that context until expires, under key keyID with secret.
func Sign(keyID int32, secret []byte, email, tenant string, readOnly bool, expires time.Time) string {
	exp := expires.Unix()
	m := hmac.New(sha256.New, secret)
	m.Write(Message(email, tenant, readOnly, exp))
	return "v1." + strconv.Itoa(int(keyID)) + "." + strconv.FormatInt(exp, 10) + "." + hex.EncodeToString(m.Sum(nil))
}
