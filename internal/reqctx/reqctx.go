// Package reqctx carries what a request learns on its way down to the
// layers that report on it: the user and the tenant the database resolved
// when a scope entered. The HTTP edge puts an Info in every request's
// context; internal/tenancy fills it; the request log, metrics and traces
// read it. Ids only: an email is personal data and stays out of logs.
package reqctx

import (
	"context"
	"sync"

	"github.com/google/uuid"
)

type key struct{}

// Info is what a request has resolved so far. Safe for concurrent use;
// a nil *Info ignores writes and reads as empty.
type Info struct {
	mu       sync.Mutex
	userID   uuid.UUID
	tenantID uuid.UUID
}

// With returns ctx carrying a new, empty Info.
func With(ctx context.Context) (context.Context, *Info) {
	i := &Info{}
	return context.WithValue(ctx, key{}, i), i
}

// From returns the Info ctx carries, or nil.
func From(ctx context.Context) *Info {
	i, _ := ctx.Value(key{}).(*Info)
	return i
}

// Set records the user and tenant a scope entered as; zero ids leave the
// recorded ones as they are (a scope outside a tenant keeps the tenant an
// earlier one named).
func (i *Info) Set(user, tenant uuid.UUID) {
	if i == nil {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if user != uuid.Nil {
		i.userID = user
	}
	if tenant != uuid.Nil {
		i.tenantID = tenant
	}
}

// IDs returns the recorded user and tenant (uuid.Nil when unknown).
func (i *Info) IDs() (user, tenant uuid.UUID) {
	if i == nil {
		return uuid.Nil, uuid.Nil
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.userID, i.tenantID
}
