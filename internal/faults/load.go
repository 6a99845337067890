package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// HeaderFault asks the fault-injection build of the server (cmd/server,
// build tag faultinject) to panic in the handler.
const HeaderFault = "X-Pgtenant-Fault"

// LoadConfig configures a Load. The ratios are per request, drawn in this
// order; what is left reads a page of the caller's tenant's projects.
type LoadConfig struct {
	// BaseURL of the server, e.g. http://127.0.0.1:8080.
	BaseURL string
	Tenants []Tenant
	// Identify sets the request's identity (the trusted-header mode's
	// header, a token, ...).
	Identify func(r *http.Request, email string)
	// Workers run concurrently, each one request at a time (default 8).
	Workers int
	// Pause between a worker's requests (default none).
	Pause time.Duration
	// WriteRatio: create a project (a 201 is an acknowledged write).
	WriteRatio float64
	// GetRatio: read back one of the tenant's acknowledged projects.
	GetRatio float64
	// CrossRatio: read another tenant's project through one's own tenant
	// (must be 404), or another tenant's list (must be 404).
	CrossRatio float64
	// CancelRatio: a list whose client gives up after 0.5 to 5 ms.
	CancelRatio float64
	// PanicRatio: a list sent with HeaderFault: panic (must be a 500
	// problem; needs the faultinject build).
	PanicRatio float64
	// Timeout bounds each request on the client (default 15s).
	Timeout time.Duration
	// MaxRequests stops the load after that many requests (0: no bound
	// but the context).
	MaxRequests int64
}

// Ack is an acknowledged write: a project the server answered 201 for.
type Ack struct {
	Tenant string
	ID     uuid.UUID
	Name   string
}

// Load runs requests of mixed tenants and records, per phase, what came
// back. It is safe for concurrent use; Phase switches the phase the
// following answers count in.
type Load struct {
	cfg    LoadConfig
	client *http.Client
	phase  atomic.Pointer[string]
	seq    atomic.Int64
	sent   atomic.Int64

	mu     sync.Mutex
	phases map[string]*PhaseStats
	order  []string
	acks   []Ack
	byTen  map[string][]Ack
	leaks  []string
	lost   []string
}

// PhaseStats is what one phase saw.
type PhaseStats struct {
	Name     string
	Requests int
	// Classes counts answers by class: "ok", "<status> <code>", "canceled",
	// "transport" (refused, reset), "timeout".
	Classes map[string]int
	// Latencies of every answered request (not canceled, not transport).
	Latencies []time.Duration
	// First and last answer times, and the first ok after a failure.
	Start, End time.Time
}

// NewLoad prepares a load.
func NewLoad(cfg LoadConfig) *Load {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	tr := &http.Transport{MaxIdleConnsPerHost: cfg.Workers, DisableCompression: true}
	l := &Load{cfg: cfg, client: &http.Client{Transport: tr}, phases: map[string]*PhaseStats{}, byTen: map[string][]Ack{}}
	l.Phase("start")
	return l
}

// Phase starts counting answers in phase name.
func (l *Load) Phase(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.phases[name]; !ok {
		l.phases[name] = &PhaseStats{Name: name, Classes: map[string]int{}}
		l.order = append(l.order, name)
	}
	l.phase.Store(&name)
}

// Run sends requests from cfg.Workers workers until ctx ends.
func (l *Load) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for w := range l.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for ctx.Err() == nil {
				if n := l.sent.Add(1); l.cfg.MaxRequests > 0 && n > l.cfg.MaxRequests {
					return
				}
				l.one(ctx, rng)
				if l.cfg.Pause > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(l.cfg.Pause):
					}
				}
			}
		}()
	}
	wg.Wait()
	l.client.CloseIdleConnections()
}

// answer is one request's outcome.
type answer struct {
	status  int
	header  http.Header
	body    []byte
	err     error
	latency time.Duration
}

func (l *Load) one(ctx context.Context, rng *rand.Rand) {
	t := l.cfg.Tenants[rng.IntN(len(l.cfg.Tenants))]
	user := t.Users[rng.IntN(len(t.Users))]
	base := l.cfg.BaseURL + "/v1/tenants/" + t.Slug + "/projects"
	p := rng.Float64()
	switch {
	case p < l.cfg.WriteRatio:
		name := fmt.Sprintf("%sw%d", NamePrefix(t.Slug), l.seq.Add(1))
		a := l.do(ctx, user, http.MethodPost, base, map[string]string{"name": name}, nil, 0)
		if a.status == http.StatusCreated {
			var got struct {
				ID   uuid.UUID `json:"id"`
				Name string    `json:"name"`
			}
			if err := json.Unmarshal(a.body, &got); err != nil || got.Name != name {
				l.leak("POST %s answered 201 with %s", t.Slug, a.body)
				return
			}
			l.ack(Ack{Tenant: t.Slug, ID: got.ID, Name: name})
		}
		l.record(a, false)
	case p < l.cfg.WriteRatio+l.cfg.GetRatio:
		ack, ok := l.pick(t.Slug, rng)
		if !ok {
			ack = Ack{Tenant: t.Slug, ID: t.Seed, Name: NamePrefix(t.Slug) + "seed"}
		}
		a := l.do(ctx, user, http.MethodGet, base+"/"+ack.ID.String(), nil, nil, 0)
		switch a.status {
		case http.StatusOK:
			var got struct{ Name string }
			if json.Unmarshal(a.body, &got) != nil || got.Name != ack.Name {
				l.leak("GET %s/%s answered %s", t.Slug, ack.ID, a.body)
			}
		case http.StatusNotFound:
			l.lose("GET %s/%s (acknowledged) answered 404", t.Slug, ack.ID)
		}
		l.record(a, false)
	case p < l.cfg.WriteRatio+l.cfg.GetRatio+l.cfg.CrossRatio:
		other := l.cfg.Tenants[rng.IntN(len(l.cfg.Tenants))]
		if other.Slug == t.Slug {
			return
		}
		var a answer
		if rng.IntN(2) == 0 {
			// Another tenant's project, through one's own tenant: RLS hides it.
			a = l.do(ctx, user, http.MethodGet, base+"/"+other.Seed.String(), nil, nil, 0)
		} else {
			// Another tenant's list: not a member, so no such tenant.
			a = l.do(ctx, user, http.MethodGet, l.cfg.BaseURL+"/v1/tenants/"+other.Slug+"/projects", nil, nil, 0)
		}
		if a.status >= 200 && a.status < 300 {
			l.leak("%s (of %s) read %s's data: %d %s", user, t.Slug, other.Slug, a.status, a.body)
		}
		l.record(a, false)
	case p < l.cfg.WriteRatio+l.cfg.GetRatio+l.cfg.CrossRatio+l.cfg.CancelRatio:
		a := l.do(ctx, user, http.MethodGet, base+"?limit=100", nil, nil, time.Duration(500+rng.IntN(4500))*time.Microsecond)
		l.checkList(t, a)
		l.record(a, false)
	case p < l.cfg.WriteRatio+l.cfg.GetRatio+l.cfg.CrossRatio+l.cfg.CancelRatio+l.cfg.PanicRatio:
		a := l.do(ctx, user, http.MethodGet, base, nil, http.Header{HeaderFault: {"panic"}}, 0)
		l.record(a, true)
	default:
		a := l.do(ctx, user, http.MethodGet, base+"?limit=100", nil, nil, 0)
		l.checkList(t, a)
		l.record(a, false)
	}
}

// checkList: a page of t's list holds t's seed project and only t's rows.
func (l *Load) checkList(t Tenant, a answer) {
	if a.status != http.StatusOK {
		return
	}
	var page struct {
		Items []struct {
			ID   uuid.UUID `json:"id"`
			Name string    `json:"name"`
		} `json:"items"`
	}
	if err := json.Unmarshal(a.body, &page); err != nil {
		l.leak("list of %s: undecodable 200: %.200s", t.Slug, a.body)
		return
	}
	if len(page.Items) == 0 || page.Items[0].ID != t.Seed {
		l.leak("list of %s does not start with its seed project (empty or wrong context): %.200s", t.Slug, a.body)
	}
	for _, it := range page.Items {
		if !strings.HasPrefix(it.Name, NamePrefix(t.Slug)) {
			l.leak("list of %s holds %q, another tenant's row", t.Slug, it.Name)
		}
	}
}

// do sends one request as email; cancelAfter > 0 gives up that soon.
func (l *Load) do(ctx context.Context, email, method, url string, body any, h http.Header, cancelAfter time.Duration) answer {
	timeout := l.cfg.Timeout
	if cancelAfter > 0 {
		timeout = cancelAfter
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(rctx, method, url, rd)
	if err != nil {
		return answer{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range h {
		req.Header[k] = v
	}
	l.cfg.Identify(req, email)
	start := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		if cancelAfter > 0 && errors.Is(err, context.DeadlineExceeded) {
			err = context.Canceled // the client chose to give up
		}
		return answer{err: err, latency: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil { // a cut answer is no answer
		if cancelAfter > 0 {
			err = context.Canceled
		}
		return answer{err: err, latency: time.Since(start)}
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b, latency: time.Since(start)}
}

// problemCode is the code of a problem+json answer ("" if it is none).
func problemCode(a answer) string {
	if a.header.Get("Content-Type") != "application/problem+json" {
		return ""
	}
	var p struct{ Code string }
	_ = json.Unmarshal(a.body, &p)
	return p.Code
}

// leakyDetail: what must never appear in an answer.
var leakyDetail = []string{"SQLSTATE", "ERROR:", "pgx", "pq:", "goroutine ", "panic:", "txscope", "duplicate key", "violates"}

func (l *Load) record(a answer, injected bool) {
	class := "ok"
	switch {
	case a.err != nil && errors.Is(a.err, context.Canceled):
		class = "canceled"
	case a.err != nil && errors.Is(a.err, context.DeadlineExceeded):
		class = "timeout"
	case a.err != nil:
		class = "transport"
	case a.status >= 300:
		class = strconv.Itoa(a.status) + " " + problemCode(a)
		if injected && a.status == http.StatusInternalServerError {
			class += " (injected)"
		}
		if (a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable) && a.header.Get("Retry-After") == "" {
			class += " without Retry-After"
		}
		if problemCode(a) == "" {
			class += " (not a problem)"
		}
		for _, s := range leakyDetail {
			if bytes.Contains(a.body, []byte(s)) {
				l.leak("a %d answer shows internal detail %q: %.200s", a.status, s, a.body)
			}
		}
	case injected:
		class = "ok (panic not injected)"
	}
	name := *l.phase.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.phases[name]
	now := time.Now()
	if st.Start.IsZero() {
		st.Start = now
	}
	st.End = now
	st.Requests++
	st.Classes[class]++
	if a.err == nil {
		st.Latencies = append(st.Latencies, a.latency)
	}
}

func (l *Load) ack(a Ack) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acks = append(l.acks, a)
	l.byTen[a.Tenant] = append(l.byTen[a.Tenant], a)
}

func (l *Load) pick(tenant string, rng *rand.Rand) (Ack, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	acks := l.byTen[tenant]
	if len(acks) == 0 {
		return Ack{}, false
	}
	return acks[rng.IntN(len(acks))], true
}

func (l *Load) leak(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.leaks) < 100 {
		l.leaks = append(l.leaks, fmt.Sprintf(format, args...))
	}
}

func (l *Load) lose(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lost) < 100 {
		l.lost = append(l.lost, fmt.Sprintf(format, args...))
	}
}

// Acks returns the acknowledged writes so far.
func (l *Load) Acks() []Ack {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.acks)
}

// Leaks returns what the load saw that it must not have: another tenant's
// rows, an empty context, internal detail in an answer.
func (l *Load) Leaks() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.leaks)
}

// Lost returns acknowledged writes the server answered 404 for.
func (l *Load) Lost() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lost)
}

// Phases returns a copy of every phase's statistics, in the order they
// started (phases that saw no answer included).
func (l *Load) Phases() []PhaseStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]PhaseStats, 0, len(l.order))
	for _, n := range l.order {
		st := *l.phases[n]
		st.Classes = map[string]int{}
		for k, v := range l.phases[n].Classes {
			st.Classes[k] = v
		}
		st.Latencies = slices.Clone(st.Latencies)
		out = append(out, st)
	}
	return out
}

// Quantile returns the q-quantile (0..1) of ds (0 when empty).
func Quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q * float64(len(s)-1))
	return s[i]
}
