package main

import (
	"bytes"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"
)

// results is one file of benchmark results: for each benchmark, keyed by
// its name without "Benchmark", without the -GOMAXPROCS suffix and without
// a /round=N part (as "Scope/op=read/clients=1/variant=floor"), the values
// of each unit, one per run in file order. A benchmark that reports its
// rounds as sub-benchmarks (BenchmarkScale) thus reads like one run with
// -count=rounds, and the i-th values of two of its names come from the same
// round.
type results struct {
	names []string // in first-seen order
	vals  map[string]map[string][]float64
	cpu   string
	when  time.Time // the file's modification time: when the benchmark wrote it
}

// load reads path, nil when it cannot be read or holds no result: the
// report then says the benchmark has not run yet.
func load(path string) *results {
	r, err := parse(path)
	if err != nil || len(r.names) == 0 {
		return nil
	}
	return r
}

func parse(path string) (*results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return read(f, path, st.ModTime())
}

// read collects the results of in, in the Go benchmark format. Lines
// benchfmt cannot parse as a result (syntax errors, unit metadata) are
// skipped, like every other line that is not a result.
func read(in io.Reader, fileName string, when time.Time) (*results, error) {
	r := &results{vals: map[string]map[string][]float64{}, when: when}
	br := benchfmt.NewReader(in, fileName)
	for br.Scan() {
		if res, ok := br.Result().(*benchfmt.Result); ok {
			r.add(res)
		}
	}
	return r, br.Err()
}

func (r *results) add(res *benchfmt.Result) {
	if cpu := strings.TrimSpace(res.GetConfig("cpu")); cpu != "" {
		r.cpu = cpu
	}
	name := baseName(res.Name)
	if r.vals[name] == nil {
		r.vals[name] = map[string][]float64{}
		r.names = append(r.names, name)
	}
	for _, v := range res.Values {
		// benchfmt tidies units (ns/op becomes sec/op); the report reads
		// them as the benchmark wrote them.
		val, unit := v.Value, v.Unit
		if v.OrigUnit != "" {
			val, unit = v.OrigValue, v.OrigUnit
		}
		r.vals[name][unit] = append(r.vals[name][unit], val)
	}
}

// baseName is the benchmark name without its -GOMAXPROCS part, so runs on
// machines with different core counts land on the same name, and without
// its /round=N part, so the rounds of a benchmark land on the same name.
func baseName(n benchfmt.Name) string {
	base, parts := n.Parts()
	var b strings.Builder
	b.Write(base)
	for _, p := range parts {
		if p[0] != '-' && !bytes.HasPrefix(p, []byte("/round=")) {
			b.Write(p)
		}
	}
	return b.String()
}

// med is the median of name's unit, NaN when absent.
func (r *results) med(name, unit string) float64 {
	if r == nil {
		return math.NaN()
	}
	return median(r.vals[name][unit])
}

// median is the median of vs (the mean of the two middle values for an
// even count), NaN when empty.
func median(vs []float64) float64 {
	v := slices.Clone(vs)
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (r *results) runs(name, unit string) int {
	if r == nil {
		return 0
	}
	return len(r.vals[name][unit])
}
