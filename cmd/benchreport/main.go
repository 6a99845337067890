// Command benchreport turns the raw benchmark results under docs/bench/
// (Go benchmark format, read with golang.org/x/perf/benchfmt as benchstat
// reads it) into docs/benchmarks.md and its chart. Every bench target of
// mk/bench.mk ends by running it, so the document always shows the last
// run of each benchmark:
//
//	go run ./cmd/benchreport -in docs/bench -md docs/benchmarks.md -png docs/benchmarks.png
//
// Numbers are medians over the runs in each file. The chart is drawn by
// gnuplot (Debian: gnuplot-nox) when it is installed; without it the
// document is still written and the old chart kept.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	in := flag.String("in", "docs/bench", "directory of raw results")
	md := flag.String("md", "docs/benchmarks.md", "markdown output")
	png := flag.String("png", "docs/benchmarks.png", "chart output")
	flag.Parse()
	if err := run(*in, *md, *png); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(in, mdPath, pngPath string) error {
	rep := loadReport(in)
	if err := os.WriteFile(mdPath, []byte(rep.markdown()), 0o644); err != nil {
		return err
	}
	return chart(rep, pngPath)
}

// report is what the page and the chart are made of: the last results of
// each bench target under dir, nil for a target that has not run.
type report struct {
	dir             string
	scope           *results // scope.txt (make bench)
	scale           *results // scale.txt (make bench-scale)
	http            *results // http.txt (make bench-http)
	httpLevers      *results // http-levers.txt (make bench-http-levers)
	experiments     []string // experiment-*.txt (make bench-experiments), sorted
	httpExperiments []string // http-experiment-*.txt (make bench-http-experiments), sorted
}

func loadReport(dir string) report {
	glob := func(pattern string) []string {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		sort.Strings(files)
		return files
	}
	return report{
		dir:             dir,
		scope:           load(filepath.Join(dir, "scope.txt")),
		scale:           load(filepath.Join(dir, "scale.txt")),
		http:            load(filepath.Join(dir, "http.txt")),
		httpLevers:      load(leversFile(dir)),
		experiments:     glob("experiment-*.txt"),
		httpExperiments: glob("http-experiment-*.txt"),
	}
}

// cpu is the processor the benchmarks name, from the last file that names one.
func (rep report) cpu() string {
	cpu := ""
	for _, r := range []*results{rep.scope, rep.scale, rep.http} {
		if r != nil && r.cpu != "" {
			cpu = r.cpu
		}
	}
	return cpu
}

// experimentName is the description mk/bench.mk's experiment has in
// experimentNames, else its name: file minus prefix and ".txt".
func experimentName(file, prefix string) (name, desc string) {
	name = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), prefix), ".txt")
	if d, ok := experimentNames[name]; ok {
		return name, d
	}
	return name, name
}

// experimentNames describes the experiments of mk/bench.mk.
var experimentNames = map[string]string{
	"enter-definer": "app.enter SECURITY DEFINER, owned by the schema owner",
}
