package faults

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Status GETs url and returns the status, 0 when there is no answer
// within two seconds.
func Status(url string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// ReadyzWatch polls a server's /readyz and records when its answer
// changes.
type ReadyzWatch struct {
	mu      sync.Mutex
	changes []readyzChange
}

type readyzChange struct {
	at     time.Time
	status int
}

// WatchReadyz polls base+"/readyz" every 25 ms until ctx ends.
func WatchReadyz(ctx context.Context, base string) *ReadyzWatch {
	w := &ReadyzWatch{}
	go func() {
		last := -1
		for ctx.Err() == nil {
			s := Status(base + "/readyz")
			if s != last {
				w.mu.Lock()
				w.changes = append(w.changes, readyzChange{time.Now(), s})
				w.mu.Unlock()
				last = s
			}
			time.Sleep(25 * time.Millisecond)
		}
	}()
	return w
}

// First returns when /readyz first answered status at or after since.
func (w *ReadyzWatch) First(status int, since time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.changes {
		if c.status == status && !c.at.Before(since) {
			return c.at, true
		}
	}
	return time.Time{}, false
}

// WaitFirst waits up to limit for /readyz to answer status at or after
// since, and returns when it first did.
func (w *ReadyzWatch) WaitFirst(status int, since time.Time, limit time.Duration) (time.Time, bool) {
	for end := time.Now().Add(limit); ; {
		if at, ok := w.First(status, since); ok {
			return at, true
		}
		if time.Now().After(end) {
			return time.Time{}, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
