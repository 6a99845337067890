package perf_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// profileRun takes pgtenant's CPU profile (its PPROF_ADDR, loopback) during
// one more wrk run of -perf.http.secs, not recorded with the rounds (the
// profiler costs a little), writes it to -perf.http.profile and reports the
// share of the process's CPU samples each part of the request path takes
// as target=pgtenant-profile metrics (cpuShares).
func profileRun(ctx context.Context, b *testing.B, t *target, script, pprofAddr, bin string) {
	b.Helper()
	secs := max(*httpSecs, 3)
	wrkErr := make(chan error, 1)
	go func() {
		_, err := runWrk(ctx, t, script, secs)
		wrkErr <- err
	}()
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, secs-2)
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	prof, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("profile: %v, status %d: %.300s", err, resp.StatusCode, prof)
	}
	if err := <-wrkErr; err != nil {
		b.Fatalf("%s, profiled run: %v", t.name, err)
	}
	if err := os.WriteFile(*httpProfile, prof, 0o644); err != nil {
		b.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodefraction=0", "-nodecount=1000000", bin, *httpProfile).CombinedOutput()
	if err != nil {
		b.Fatalf("go tool pprof: %v\n%s", err, out)
	}
	shares, err := cpuShares(out)
	if err != nil {
		b.Fatal(err)
	}
	busy := pprofBusy.FindSubmatch(out)
	if busy == nil {
		b.Fatalf("go tool pprof printed no total:\n%.2000s", out)
	}
	busyPct, _ := strconv.ParseFloat(string(busy[1]), 64)
	b.Run("target=pgtenant-profile", func(b *testing.B) {
		b.ReportMetric(0, "ns/op") // not a timing
		b.ReportMetric(busyPct, "process-cpu%")
		for _, s := range shares {
			b.ReportMetric(s.pct, s.name+"-cpu%")
		}
	})
}

// cpuPart is one part of the request path in the profile: flat samples of
// the functions matching pattern (functions are assigned to the first part
// that matches, so the parts add up to 100%).
type cpuPart struct {
	name    string
	pattern *regexp.Regexp
}

// cpuParts, in the order a function is matched. RS256 verification is
// the crypto and big-number code plus jwx and the verifier; the context
// proof's HMAC (txscope) is sha256 too, a small share next to RSA.
var cpuParts = []cpuPart{
	{"gc", regexp.MustCompile(`^runtime\.(gc|scan|mark|greyobject|findObject|heapBits|wbBuf|bgsweep|sweep|(\(\*gc)|(\(\*mspan\)\.(sweep|typePointers))|(\(\*mheap\))|spanOf|typePointers)`)},
	{"alloc", regexp.MustCompile(`^runtime\.(mallocgc|nextFreeFast|(\(\*mcache\))|(\(\*mcentral\))|memclrNoHeapPointers|newobject|makeslice|growslice|rawstring|slicebytetostring|concatstring)`)},
	{"jwt", regexp.MustCompile(`^(crypto/|math/big|github\.com/lestrrat-go/|github\.com/pgtenant/pgtenant/internal/(cfaccess|auth)\.)`)},
	{"json", regexp.MustCompile(`^encoding/json\.`)},
	{"logging", regexp.MustCompile(`^log/slog|^github\.com/pgtenant/pgtenant/internal/httpx\.(requestLog|logRequest)`)},
	{"pgx", regexp.MustCompile(`^github\.com/jackc/`)},
	{"echo", regexp.MustCompile(`^github\.com/labstack/`)},
	{"net-syscalls", regexp.MustCompile(`^(syscall\.|internal/runtime/syscall|runtime/internal/syscall|internal/poll\.|net\.|runtime\.(netpoll|epoll))`)},
	{"net/http", regexp.MustCompile(`^net/(http|textproto)\.|^bufio\.`)},
	{"scheduler", regexp.MustCompile(`^runtime\.`)},
	{"other", regexp.MustCompile(``)},
}

// pprofBusy is the process's CPU time over the profile's duration, in %
// of one core: "Duration: 8s, Total samples = 4.2s (52.50%)".
var pprofBusy = regexp.MustCompile(`Total samples = \S+ \(([0-9.]+)%\)`)

var pprofTopLine = regexp.MustCompile(`^\s*([0-9.]+)(ns|us|µs|ms|s|min|h)\s+[0-9.]+%\s+[0-9.]+%\s+[0-9.]+(?:ns|us|µs|ms|s|min|h)\s+[0-9.]+%\s+(.+)$`)

// cpuShares reads `go tool pprof -top` output: the share (%) of all flat
// samples per cpuParts entry, in cpuParts order.
func cpuShares(top []byte) ([]struct {
	name string
	pct  float64
}, error) {
	unit := map[string]float64{"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "min": 60, "h": 3600}
	sums := make([]float64, len(cpuParts))
	total := 0.0
	sc := bufio.NewScanner(bytes.NewReader(top))
	for sc.Scan() {
		m := pprofTopLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		v *= unit[m[2]]
		fn := strings.TrimSpace(m[3])
		for i, p := range cpuParts {
			if p.pattern.MatchString(fn) {
				sums[i] += v
				break
			}
		}
		total += v
	}
	if total == 0 {
		return nil, fmt.Errorf("no samples in the profile:\n%.2000s", top)
	}
	out := make([]struct {
		name string
		pct  float64
	}, len(cpuParts))
	for i, p := range cpuParts {
		out[i].name, out[i].pct = p.name, 100*sums[i]/total
	}
	return out, nil
}
