package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	floor  = "Scope/op=read/clients=1/variant=floor"
	scoped = "Scope/op=read/clients=1/variant=scoped"
)

// TestLoadSample reads testdata/sample.txt, `go test -bench -v` output
// with the lines a real run interleaves (file configuration, a name-only
// -v line, a log line, a malformed line, unit metadata, PASS/ok).
func TestLoadSample(t *testing.T) {
	t.Parallel()
	r := load(filepath.Join("testdata", "sample.txt"))
	require.NotNil(t, r, "a file with results")

	require.Equal(t, []string{floor, scoped, "Scale/rows=100k/page=first-any"}, r.names,
		"first-seen order, no -GOMAXPROCS suffix, the malformed line skipped")
	require.Equal(t, "Test CPU @ 1.00GHz", r.cpu, "the cpu: line without its trailing spaces")

	for _, tc := range []struct {
		name, unit string
		runs       int
		med        float64
	}{
		{floor, "req/s", 3, 20000},      // odd count: the middle value of 16000, 20000, 25000
		{floor, "ns/op", 3, 50000},      // in ns as written, not tidied to sec/op
		{scoped, "x-floor", 2, 0.89},    // even count: the mean of the two middle values
		{scoped, "roundtrips/op", 2, 1}, // a unit in another position on the line
		{"Scale/rows=100k/page=first-any", "p50-us", 1, 150.7},
	} {
		require.Equal(t, tc.runs, r.runs(tc.name, tc.unit), "runs(%s, %s)", tc.name, tc.unit)
		require.InDelta(t, tc.med, r.med(tc.name, tc.unit), 1e-9, "med(%s, %s)", tc.name, tc.unit)
	}
	require.Nil(t, r.vals[floor]["sec/op"], "benchfmt's tidied unit sec/op leaked into the results")
	require.True(t, math.IsNaN(r.med(floor, "p99-us")), "med of an absent unit is NaN")
	require.Equal(t, []string{"100k"}, scaleSizes(r))
}

func TestLoadWithoutResults(t *testing.T) {
	t.Parallel()
	require.Nil(t, load(filepath.Join("testdata", "missing.txt")))
	var none *results
	require.True(t, math.IsNaN(none.med(floor, "req/s")))
	require.Zero(t, none.runs(floor, "req/s"))
}

// TestScopeTableFromSample: the medians reach the page, ns/op shown in µs,
// a unit a benchmark did not report shown as a dash.
func TestScopeTableFromSample(t *testing.T) {
	t.Parallel()
	r := load(filepath.Join("testdata", "sample.txt"))
	var b strings.Builder
	scopeTable(func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }, r)
	require.Contains(t, b.String(),
		"| read | bare pooled query, `WHERE tenant_id = $1`, no RLS (the floor) | 1 | 20,000 | 50 | 1 | 1.00 (floor) |\n")
	require.Contains(t, b.String(),
		"| read | `txscope.Read`: app.enter pipelined with `ProjectListFirst` | 1 | – | 56 | 1 | 0.89 x-floor |\n")
}

// TestHTTPSectionFromSample: every server's row with pgtenant's ratio
// against it, the three targets' verdicts, and the profile's parts
// largest first.
func TestHTTPSectionFromSample(t *testing.T) {
	t.Parallel()
	r := load(filepath.Join("testdata", "http.txt"))
	require.NotNil(t, r)
	var b strings.Builder
	writeHTTP(func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }, r, nil, nil)
	s := b.String()
	for _, want := range []string{
		"| pgtenant | 4,000 | 3.50 | 14.00 | 26 |  |\n",
		"| baseline | 6,400 | 2.30 | 9.00 | 32 | 0.62x |\n",
		"| secure-2q | 3,200 | 4.00 | 15.00 | 32 | 1.25x |\n",
		"| secure-join | 5,000 | 3.00 | 12.00 | 32 | 0.80x |\n",
		"| postgraphile | 727 | 15.80 | 277.90 | 143 | 5.50x |\n",
		">= 0.8x the unscoped baseline's req/s: **not met** (0.62x). >= 1.0x secure-2q's: **met** (1.25x). >= 5x PostGraphile's: **met** (5.50x).",
		"process used 52% of one core",
		"| other | 60.0% |\n| net-syscalls | 30.0% |\n| json | 10.0% |\n",
	} {
		require.Contains(t, s, want)
	}
	require.NotContains(t, s, "| process |", "the process's total is not a part")
}
