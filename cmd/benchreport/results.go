package main

import (
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"
)

// results is one file of benchmark results: for each benchmark, keyed by
// its name without "Benchmark" and without the -GOMAXPROCS suffix (as
// "Scope/op=read/clients=1/variant=floor"), the values of each unit, one
// per run.
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
	name := withoutProcs(res.Name)
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

// withoutProcs is the benchmark name without its -GOMAXPROCS part, so runs
// on machines with different core counts land on the same name.
func withoutProcs(n benchfmt.Name) string {
	base, parts := n.Parts()
	var b strings.Builder
	b.Write(base)
	for _, p := range parts {
		if p[0] != '-' {
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
	v := slices.Clone(r.vals[name][unit])
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
