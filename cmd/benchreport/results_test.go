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
