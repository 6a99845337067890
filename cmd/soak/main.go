// Command soak runs pgtenant's server through a fault-filled load and
// checks what it promised (`make soak`, `make soak-ci`; docs/reliability.md):
//
//	go build -tags faultinject -o .soak/server ./cmd/server
//	go run ./cmd/soak -server .soak/server -duration 5m
//
// On a private PostgreSQL cluster (internal/faults) with many tenants, the
// server (the faultinject build, which panics in the handler on request)
// serves a load of mixed reads and writes from every tenant's users, with
// client cancellations and injected panics throughout. In the middle, one
// backend of the runtime role is killed (pg_terminate_backend), then
// PostgreSQL is stopped for -down and started again.
//
// It prints requests, answers by class and p50/p99 per phase (before,
// after the kill, down, recovering, after), the refusal metrics, rows seen
// from another tenant and acknowledged writes missing afterwards, and
// exits 1 when anything leaked or was lost, the server died or did not
// recover, or an answer broke the contract (a 500 that was not injected,
// a 429 or 503 without Retry-After, a failure that is not a problem).
// Everything runs on loopback; it stops by itself after -duration.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pgtenant/pgtenant/internal/auth"
	"github.com/pgtenant/pgtenant/internal/faults"
	"github.com/pgtenant/pgtenant/internal/pglocal"
)

type options struct {
	server      string
	duration    time.Duration
	down        time.Duration
	tenants     int
	users       int
	workers     int
	pause       time.Duration
	maxRequests int64
}

func main() {
	var o options
	flag.StringVar(&o.server, "server", "", "the server binary, built with -tags faultinject (required)")
	flag.DurationVar(&o.duration, "duration", 5*time.Minute, "how long the load runs (at least 40s)")
	flag.DurationVar(&o.down, "down", 10*time.Second, "how long PostgreSQL stays down")
	flag.IntVar(&o.tenants, "tenants", 30, "tenants")
	flag.IntVar(&o.users, "users", 3, "partners per tenant")
	flag.IntVar(&o.workers, "workers", 12, "concurrent clients")
	flag.DurationVar(&o.pause, "pause", 2*time.Millisecond, "pause between a client's requests")
	flag.Int64Var(&o.maxRequests, "max-requests", 2_000_000, "stop the load after this many requests")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// server is the server under test, a child process.
type server struct {
	cmd     *exec.Cmd
	exited  chan error
	base    string
	metrics string
	log     string
}

func startServer(o options, c *faults.Cluster, dir string) (*server, error) {
	port, err := pglocal.FreePort()
	if err != nil {
		return nil, err
	}
	mport, err := pglocal.FreePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(o.server, "serve")
	cmd.Env = append(os.Environ(),
		"AUTH_MODE=trusted-header", "TRUSTED_PROXY_CIDRS=127.0.0.1/32",
		fmt.Sprintf("LISTEN_ADDR=127.0.0.1:%d", port), fmt.Sprintf("METRICS_ADDR=127.0.0.1:%d", mport),
		"DATABASE_URL="+c.RuntimeURL, "ADMIN_DATABASE_URL="+c.AdminURL,
		"LOG_LEVEL=warn", "LOG_FORMAT=text", "SHUTDOWN_TIMEOUT=10s",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &server{cmd: cmd, exited: make(chan error, 1), base: fmt.Sprintf("http://127.0.0.1:%d", port),
		metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", mport), log: logPath}
	go func() { s.exited <- cmd.Wait(); logf.Close() }()
	for end := time.Now().Add(30 * time.Second); faults.Status(s.base+"/readyz") != 200; {
		select {
		case err := <-s.exited:
			return nil, fmt.Errorf("the server exited at start (%v):\n%s", err, tail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(end) {
			s.stop()
			return nil, fmt.Errorf("the server was not ready within 30 s:\n%s", tail(logPath))
		}
	}
	return s, nil
}

// alive reports whether the server still runs.
func (s *server) alive() bool {
	select {
	case err := <-s.exited:
		s.exited <- err
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits for the drain; it returns the exit error.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		return err
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		return errors.New("did not stop within 20 s of SIGTERM")
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

func run(ctx context.Context, o options, out io.Writer) error {
	if o.server == "" {
		return errors.New("-server is required (go build -tags faultinject -o .soak/server ./cmd/server)")
	}
	if o.duration < 40*time.Second {
		return errors.New("-duration must be at least 40s")
	}
	dir, err := os.MkdirTemp("", "pgtenant-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	started := time.Now()
	fmt.Fprintf(out, "soak: %d tenants x %d users, %d clients, %s, PostgreSQL down for %s\n", o.tenants, o.users, o.workers, o.duration, o.down)
	c, err := faults.StartCluster(ctx)
	if err != nil {
		return err
	}
	defer c.Destroy()
	tenants, err := faults.Seed(ctx, c.SuperURL, o.tenants, o.users)
	if err != nil {
		return err
	}
	srv, err := startServer(o, c, dir)
	if err != nil {
		return err
	}
	defer func() {
		if srv.alive() {
			_ = srv.stop()
		}
	}()

	load := faults.NewLoad(faults.LoadConfig{
		BaseURL: srv.base, Tenants: tenants, Workers: o.workers, Pause: o.pause, MaxRequests: o.maxRequests,
		Identify:   func(r *http.Request, email string) { r.Header.Set(auth.HeaderEmail, email) },
		WriteRatio: 0.25, GetRatio: 0.15, CrossRatio: 0.10, CancelRatio: 0.05, PanicRatio: 0.01,
	})
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	ready := faults.WatchReadyz(wctx, srv.base)
	lctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	loadDone := make(chan struct{})
	go func() { load.Run(lctx); close(loadDone) }()
	wait := func(d time.Duration) {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}

	var problems []string
	load.Phase("before")
	t0 := time.Now()
	wait(o.duration * 30 / 100)
	var pid int32
	for range 200 { // a backend busy with a request
		if pid, err = c.KillBackend(ctx); err != nil || pid != 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	switch {
	case err != nil:
		problems = append(problems, "killing a backend: "+err.Error())
	case pid == 0:
		problems = append(problems, "no busy backend to kill was found")
	}
	load.Phase("after kill")
	fmt.Fprintf(out, "%6.1fs  killed backend %d\n", time.Since(t0).Seconds(), pid)
	wait(o.duration * 15 / 100)

	load.Phase("stopping")
	stopping := time.Now()
	fmt.Fprintf(out, "%6.1fs  stopping PostgreSQL\n", time.Since(t0).Seconds())
	if err := c.Stop(ctx); err != nil {
		return err
	}
	load.Phase("down")
	wait(o.down)
	load.Phase("starting")
	if err := c.Start(ctx); err != nil {
		return err
	}
	up := time.Now()
	fmt.Fprintf(out, "%6.1fs  PostgreSQL started\n", time.Since(t0).Seconds())
	load.Phase("recovering")
	readyAt, recovered := ready.WaitFirst(200, up, 30*time.Second)
	if !recovered {
		problems = append(problems, "/readyz did not turn 200 within 30 s of PostgreSQL's return")
	}
	load.Phase("after")
	wait(time.Until(t0.Add(o.duration)))
	stopLoad()
	<-loadDone
	stopWatch()

	notReady, sawDown := ready.First(503, stopping)
	if !sawDown {
		problems = append(problems, "/readyz never turned 503 while PostgreSQL was down")
	}
	metrics := scrape(srv.metrics)
	if !srv.alive() {
		problems = append(problems, "the server died:\n"+tail(srv.log))
	}
	missing, err := faults.Missing(ctx, c.SuperURL, load.Acks())
	if err != nil {
		return err
	}
	problems = append(problems, report(out, load, metrics)...)
	fmt.Fprintf(out, "\nrecovery: /readyz 503 %s after the stop began; 200 %s after PostgreSQL accepted connections again\n",
		since(notReady, stopping, sawDown), since(readyAt, up, recovered))
	leaks := load.Leaks()
	fmt.Fprintf(out, "rows seen from another tenant (or an empty context): %d\n", len(leaks))
	fmt.Fprintf(out, "acknowledged writes: %d, missing afterwards: %d (and %d answered 404 when read back)\n", len(load.Acks()), len(missing), len(load.Lost()))
	for _, l := range leaks {
		problems = append(problems, "leak: "+l)
	}
	for _, m := range missing {
		problems = append(problems, fmt.Sprintf("missing: %s %s %q", m.Tenant, m.ID, m.Name))
	}
	for _, l := range load.Lost() {
		problems = append(problems, "lost: "+l)
	}
	if srv.alive() {
		if err := srv.stop(); err != nil {
			problems = append(problems, fmt.Sprintf("the server did not drain cleanly on SIGTERM: %v\n%s", err, tail(srv.log)))
		}
	}
	fmt.Fprintf(out, "took %s\n", time.Since(started).Round(time.Second))
	if len(problems) > 0 {
		fmt.Fprintln(out, "\nFAILED:")
		for _, p := range problems {
			fmt.Fprintln(out, "  - "+p)
		}
		return fmt.Errorf("%d problems", len(problems))
	}
	fmt.Fprintln(out, "\nPASSED: nothing leaked, nothing acknowledged was lost, the server recovered by itself")
	return nil
}

func since(t, from time.Time, ok bool) string {
	if !ok {
		return "never"
	}
	return t.Sub(from).Round(time.Millisecond).String()
}

// report prints the phases and returns the contract breaches it saw.
func report(out io.Writer, load *faults.Load, metrics map[string]string) (problems []string) {
	phases := load.Phases()
	total := map[string]int{}
	requests := 0
	fmt.Fprintf(out, "\n%-11s %9s %9s %9s %9s  %s\n", "phase", "seconds", "requests", "p50", "p99", "answers by class")
	for _, p := range phases {
		if p.Requests == 0 {
			continue
		}
		requests += p.Requests
		var cls []string
		for k, v := range p.Classes {
			total[k] += v
			cls = append(cls, fmt.Sprintf("%s: %d", k, v))
		}
		sort.Strings(cls)
		fmt.Fprintf(out, "%-11s %9.1f %9d %9s %9s  %s\n", p.Name, p.End.Sub(p.Start).Seconds(), p.Requests,
			ms(faults.Quantile(p.Latencies, .5)), ms(faults.Quantile(p.Latencies, .99)), strings.Join(cls, ", "))
	}
	fmt.Fprintf(out, "\nrequests: %d\n", requests)
	keys := make([]string, 0, len(total))
	for k := range total {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "  %-32s %8d\n", k, total[k])
		switch {
		case k == "ok", k == "canceled", k == "404 not_found", k == "500 internal (injected)",
			k == "503 unavailable", k == "429 rate_limited", k == "429 concurrency_limited":
		default:
			problems = append(problems, fmt.Sprintf("%d answers of class %q", total[k], k))
		}
	}
	if total["500 internal (injected)"] == 0 {
		problems = append(problems, "no injected panic was answered (is the server the faultinject build?)")
	}
	fmt.Fprintln(out, "\nrefusals counted by the server (pgtenant_refusals_total):")
	for _, k := range sortedKeys(metrics) {
		fmt.Fprintf(out, "  %-20s %s\n", k, metrics[k])
	}
	return problems
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + "ms"
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// scrape reads pgtenant_refusals_total by reason from the server's
// metrics.
func scrape(url string) map[string]string {
	out := map[string]string{}
	resp, err := http.Get(url)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, `pgtenant_refusals_total{reason="`); ok {
			reason, value, _ := strings.Cut(rest, `"} `)
			out[reason] = value
		}
	}
	return out
}
