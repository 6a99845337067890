package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

const (
	floor  = "Scope/op=read/clients=1/variant=floor"
	scoped = "Scope/op=read/clients=1/variant=scoped"
)

// TestLoadSample reads testdata/sample.txt, `go test -bench -v` output
// with the lines a real run interleaves (file configuration, a name-only
// -v line, a log line, a malformed line, unit metadata, PASS/ok).
func TestLoadSample(t *testing.T) {
	r := load(filepath.Join("testdata", "sample.txt"))
	if r == nil {
		t.Fatal("load returned nil for a file with results")
	}

	wantNames := []string{floor, scoped, "Scale/rows=100k/page=first-any"}
	if strings.Join(r.names, "\n") != strings.Join(wantNames, "\n") {
		t.Errorf("names = %q, want %q (first-seen order, no -GOMAXPROCS suffix, the malformed line skipped)", r.names, wantNames)
	}
	if r.cpu != "Test CPU @ 1.00GHz" {
		t.Errorf("cpu = %q, want the cpu: line without its trailing spaces", r.cpu)
	}

	for _, tc := range []struct {
		name, unit string
		runs       int
		med        float64
	}{
		{floor, "req/s", 3, 20000},      // odd count: the middle value of 16000, 20000, 25000
		{floor, "ns/op", 3, 50000},      // in ns as written, not tidied to sec/op
		{scoped, "x-floor", 2, 0.89},    // even count: the mean of the two middle values
		{scoped, "roundtrips/op", 2, 1}, // units that only some lines carry
		{"Scale/rows=100k/page=first-any", "p50-us", 1, 150.7},
	} {
		if got := r.runs(tc.name, tc.unit); got != tc.runs {
			t.Errorf("runs(%s, %s) = %d, want %d", tc.name, tc.unit, got, tc.runs)
		}
		if got := r.med(tc.name, tc.unit); math.Abs(got-tc.med) > 1e-9 {
			t.Errorf("med(%s, %s) = %v, want %v", tc.name, tc.unit, got, tc.med)
		}
	}
	if r.vals[floor]["sec/op"] != nil {
		t.Error("benchfmt's tidied unit sec/op leaked into the results")
	}
	if got := r.med(floor, "p99-us"); !math.IsNaN(got) {
		t.Errorf("med of an absent unit = %v, want NaN", got)
	}
	if got := scaleSizes(r); strings.Join(got, ",") != "100k" {
		t.Errorf("scaleSizes = %q, want [100k]", got)
	}
}

func TestLoadWithoutResults(t *testing.T) {
	if r := load(filepath.Join("testdata", "missing.txt")); r != nil {
		t.Error("load of a missing file is not nil")
	}
	var none *results
	if got := none.med(floor, "req/s"); !math.IsNaN(got) {
		t.Errorf("med on no results = %v, want NaN", got)
	}
	if got := none.runs(floor, "req/s"); got != 0 {
		t.Errorf("runs on no results = %d, want 0", got)
	}
}

// TestScopeTableFromSample: the medians reach the page, ns/op shown in µs.
func TestScopeTableFromSample(t *testing.T) {
	r := load(filepath.Join("testdata", "sample.txt"))
	var b strings.Builder
	scopeTable(func(format string, args ...any) { b.WriteString(fmt.Sprintf(format, args...)) }, r)
	for _, want := range []string{
		"| read | bare pooled query, `WHERE tenant_id = $1`, no RLS (the floor) | 1 | 20,000 | 50 | 1 | 1.00 (floor) |\n",
		"| read | `txscope.Read`: app.enter pipelined with `ProjectListFirst` | 1 | – | 56 | 1 | 0.89 x-floor |\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("scope table lacks %q:\n%s", want, b.String())
		}
	}
}
