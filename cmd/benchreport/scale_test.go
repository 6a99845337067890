package main

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scaleRun is a synthetic BenchmarkScale run in Go benchmark format: for
// each size and page, one line per round with the given p50s, as the
// benchmark writes them (rounds as /round=N sub-benchmarks).
func scaleRun(t *testing.T, p50s map[string]map[string][]float64, sizes, pages []string) *results {
	t.Helper()
	var b strings.Builder
	b.WriteString("goos: linux\ncpu: Test CPU\n")
	for _, s := range sizes {
		for _, p := range pages {
			for i, v := range p50s[s][p] {
				fmt.Fprintf(&b, "BenchmarkScale/rows=%s/page=%s/round=%d-2 \t 1\t %d ns/op\t %g p50-us\t %g p99-us\t 300 samples\n",
					s, p, i+1, int(v*1000), v, 3*v)
			}
		}
	}
	r, err := read(strings.NewReader(b.String()), "scale.txt", time.Time{})
	require.NoError(t, err)
	return r
}

// TestIsolationOverheadPairsRounds: the overhead is the median of the
// per-round differences, not the difference of the medians. Round 2 is one
// the machine slowed for both sides; pairing takes it out (90), while the
// medians taken apart would say 120 − 40 = 80.
func TestIsolationOverheadPairsRounds(t *testing.T) {
	t.Parallel()
	r := scaleRun(t, map[string]map[string][]float64{"100k": {
		"first-largest":      {100, 300, 120},
		"first-largest-bare": {10, 210, 40},
		"deep-largest":       {100, 100},
		"deep-largest-bare":  {10, 10, 10},
	}}, []string{"100k"}, []string{"first-largest", "first-largest-bare", "deep-largest", "deep-largest-bare"})

	require.Equal(t, []string{"Scale/rows=100k/page=first-largest", "Scale/rows=100k/page=first-largest-bare",
		"Scale/rows=100k/page=deep-largest", "Scale/rows=100k/page=deep-largest-bare"}, r.names, "rounds fold into one name")
	require.Equal(t, 3, r.runs("Scale/rows=100k/page=first-largest", "p50-us"))
	require.InDelta(t, 3, scaleRounds(r), 0, "rounds counted from the lines when no rounds unit is reported")

	o, ok := isolationOverhead(r, "100k", "first-largest", "first-largest-bare")
	require.True(t, ok)
	require.InDelta(t, 90, o.med, 1e-9, "median of 90, 90, 80")
	require.InDelta(t, 80, o.lo, 1e-9)
	require.InDelta(t, 90, o.hi, 1e-9)
	require.InDelta(t, 120, o.scoped, 1e-9, "the scoped median p50 it came from")
	require.InDelta(t, 40, o.bare, 1e-9, "the bare median p50 it came from")
	require.True(t, o.measurable())

	_, ok = isolationOverhead(r, "100k", "deep-largest", "deep-largest-bare")
	require.False(t, ok, "2 scoped rounds against 3 bare ones cannot be paired")
	_, ok = isolationOverhead(r, "100k", "first-any", "first-any-bare")
	require.False(t, ok, "no results")
}

func TestOverheadVerdict(t *testing.T) {
	t.Parallel()
	kinds := []string{"first", "deep", "any"}
	require.Equal(t, "**met** (worst ratio 1.20x, deep)", overheadVerdict(kinds, []float64{0.9, 1.2, 1.1}))
	require.Equal(t, "**not met** (worst ratio 1.50x, any)", overheadVerdict(kinds, []float64{1.1, 1.2, 1.5}))
	require.Equal(t, "**not determined** (deep: no measurable overhead at the smallest size)",
		overheadVerdict(kinds, []float64{1.0, math.NaN(), 1.5}))
	require.Equal(t, "**not determined** (no page kind with its bare twin)", overheadVerdict(nil, nil))
}

// TestOverheadTable renders the overhead of three sizes: flat for the
// first page, growing 1.5x for the deep page (the verdict names it), and a
// random tenant's overhead that is negative in one round at the smallest
// size, for which no ratio is made.
func TestOverheadTable(t *testing.T) {
	t.Parallel()
	sizes := []string{"100k", "1M", "10M"}
	pages := []string{"first-largest", "first-largest-bare", "deep-largest", "deep-largest-bare", "first-any", "first-any-bare"}
	rounds := func(scoped, bare float64) (s, b []float64) {
		return []float64{scoped, scoped + 50, scoped - 1}, []float64{bare, bare + 50, bare}
	}
	p50s := map[string]map[string][]float64{}
	for i, size := range sizes {
		grow := float64(i) * 100 // the page's own growth, on both sides
		p50s[size] = map[string][]float64{}
		p50s[size]["first-largest"], p50s[size]["first-largest-bare"] = rounds(200+grow, 100+grow)
		p50s[size]["deep-largest"], p50s[size]["deep-largest-bare"] = rounds(200+grow+float64(i)*25, 100+grow)
		p50s[size]["first-any"], p50s[size]["first-any-bare"] = rounds(110+grow, 100+grow)
	}
	p50s["100k"]["first-any"][2] = 95 // round 3: scoped faster than bare
	r := scaleRun(t, p50s, sizes, pages)

	var b strings.Builder
	writeOverhead(func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }, r, sizes)
	out := b.String()
	require.Contains(t, out, "| first page of the largest tenant | 100 [99, 100] | 200 − 100 | 100 [99, 100] | 300 − 200 | 100 [99, 100] | 400 − 300 | 1.00x |\n")
	require.Contains(t, out, "| keyset page 50–100% deep in the largest tenant | 100 [99, 100] | 200 − 100 | 125 [124, 125] | 325 − 200 | 150 [149, 150] | 450 − 300 | 1.50x |\n")
	require.Contains(t, out, "| first page of a random tenant | 10 [-5, 10] | 110 − 100 | 10 [9, 10] | 210 − 200 | 10 [9, 10] | 310 − 300 | not measurable |\n")
	require.Contains(t, out, "Target: the isolation overhead flat within 1.2x from 100k to 10M: **not determined** (first page of a random tenant: no measurable overhead at the smallest size).")

	p50s["100k"]["first-any"][2] = 109
	b.Reset()
	writeOverhead(func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }, scaleRun(t, p50s, sizes, pages), sizes)
	require.Contains(t, b.String(), "| 1.00x |\n")
	require.Contains(t, b.String(), "**not met** (worst ratio 1.50x, keyset page 50–100% deep in the largest tenant).")
}
