package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// chart draws up to four panels with gnuplot: DB-level throughput, the
// scoped/unscoped ratios with the experiments, page latency by size, HTTP
// throughput. Without gnuplot it keeps the old chart.
func chart(rep report, pngPath string) error {
	gp, err := exec.LookPath("gnuplot")
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport: gnuplot not found (apt-get install gnuplot-nox); keeping the old chart")
		return nil
	}
	dir, err := os.MkdirTemp("", "benchreport-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var panels []string
	for _, panel := range []func(dir string, rep report) (string, error){scopePanel, experimentPanel, scalePanel, httpPanel} {
		script, err := panel(dir, rep)
		if err != nil {
			return err
		}
		if script != "" {
			panels = append(panels, script)
		}
	}
	if len(panels) == 0 {
		return nil
	}
	return plot(gp, dir, panels, pngPath)
}

// plot stacks the panels into one PNG.
func plot(gp, dir string, panels []string, pngPath string) error {
	abs, err := filepath.Abs(pngPath)
	if err != nil {
		return err
	}
	script := fmt.Sprintf("set terminal pngcairo size 1000,%d font \"DejaVu Sans,10\"\nset output '%s'\nset grid ytics\nset multiplot layout %d,1\n%s\nunset multiplot\n",
		360*len(panels), abs, len(panels), strings.Join(panels, "\n"))
	sp := filepath.Join(dir, "chart.gp")
	if err := os.WriteFile(sp, []byte(script), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command(gp, sp).CombinedOutput(); err != nil {
		return fmt.Errorf("gnuplot: %v\n%s", err, out)
	}
	return nil
}

// writeData writes a panel's data file into dir and returns its path.
func writeData(dir, name string, data *strings.Builder) (string, error) {
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, []byte(data.String()), 0o644)
}

// clusteredHistogram is the style of the two bar panels.
const clusteredHistogram = `set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
`

// A panel function returns its gnuplot commands, "" when it has no data.

func scopePanel(dir string, rep report) (string, error) {
	scope := rep.scope
	if scope == nil {
		return "", nil
	}
	var d strings.Builder
	for _, v := range scopeVariants {
		fmt.Fprintf(&d, "\"%s\\n%s\" %s %s\n", v.op, v.variant,
			num(scope.med(scopeName(v.op, 1, v.variant), "req/s"), 0), num(scope.med(scopeName(v.op, 4, v.variant), "req/s"), 0))
	}
	p, err := writeData(dir, "scope.dat", &d)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`set title "Database level: requests per second (higher is better)"
`+clusteredHistogram+`set ylabel "req/s"
set yrange [0:*]
set xtics font ",9"
set key top right
plot '%s' using 2:xtic(1) title "1 client" lc rgb "#4477aa", '' using 3 title "4 clients" lc rgb "#ee6677"
unset style
`, p), nil
}

func experimentPanel(dir string, rep report) (string, error) {
	if rep.scope == nil || len(rep.experiments) == 0 {
		return "", nil
	}
	var d strings.Builder
	row := func(label string, r *results) {
		fmt.Fprintf(&d, "\"%s\" %s %s %s %s\n", label,
			num(r.med(scopeName("read", 1, "scoped"), "x-floor"), 3), num(r.med(scopeName("read", 4, "scoped"), "x-floor"), 3),
			num(r.med(scopeName("write", 1, "scoped"), "x-plain"), 3), num(r.med(scopeName("write", 4, "scoped"), "x-plain"), 3))
	}
	row("as migrated", rep.scope)
	for _, f := range rep.experiments {
		if r := load(f); r != nil {
			name, desc := experimentName(f, "experiment-")
			if i := strings.Index(desc, ":"); i > 0 {
				name = "with " + desc[:i]
			}
			row(name, r)
		}
	}
	p, err := writeData(dir, "exp.dat", &d)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`set title "Scoped vs unscoped baseline, throughput ratio (1.0 = free; target for reads: 0.9)"
`+clusteredHistogram+`set ylabel "ratio"
set yrange [0:1.05]
set key top left opaque font ",9"
set arrow 1 from graph 0, first 0.9 to graph 1, first 0.9 nohead dt 2 lc rgb "#444444"
plot '%s' using 2:xtic(1) title "read, 1 client" lc rgb "#4477aa", '' using 3 title "read, 4 clients" lc rgb "#66ccee", \
     '' using 4 title "write, 1 client" lc rgb "#ee6677", '' using 5 title "write, 4 clients" lc rgb "#ccbb44"
unset arrow 1
unset style
`, p), nil
}

func scalePanel(dir string, rep report) (string, error) {
	scale := rep.scale
	if scale == nil {
		return "", nil
	}
	sizes := scaleSizes(scale)
	var d strings.Builder
	for i, s := range sizes {
		fmt.Fprintf(&d, "%d \"%s\"", i, s)
		for _, v := range scaleVariants {
			n := scaleName(s, v.name)
			fmt.Fprintf(&d, " %s %s", num(scale.med(n, "p50-us")/1e3, 3), num(scale.med(n, "p99-us")/1e3, 3))
		}
		for _, t := range scaleTwins {
			o, ok := isolationOverhead(scale, s, t.scoped, t.bare)
			if !ok {
				o.med = math.NaN() // gnuplot skips the point
			}
			fmt.Fprintf(&d, " %s", strings.Replace(num(o.med/1e3, 3), "–", "NaN", 1))
		}
		d.WriteString("\n")
	}
	p, err := writeData(dir, "scale.dat", &d)
	if err != nil {
		return "", err
	}
	ov := 3 + 2*len(scaleVariants) // the first overhead column
	return fmt.Sprintf(`set title "Scale: page latency through txscope (lower is better)"
set ylabel "ms"
set xlabel "rows (projects; as many tasks)"
set yrange [0:*]
set xrange [-0.3:%d.3]
set key top left font ",9"
plot '%[2]s' using 1:3:xtic(2) with linespoints lw 2 lc rgb "#4477aa" title "first page, largest tenant p50", \
     '' using 1:4 with linespoints dt 2 lc rgb "#4477aa" title "p99", \
     '' using 1:5 with linespoints lw 2 lc rgb "#228833" title "deep page, largest tenant p50", \
     '' using 1:6 with linespoints dt 2 lc rgb "#228833" title "p99", \
     '' using 1:7 with linespoints lw 2 lc rgb "#ee6677" title "first page, random tenant p50", \
     '' using 1:8 with linespoints dt 2 lc rgb "#ee6677" title "p99", \
     '' using 1:%[3]d with linespoints dt 3 pt 6 lc rgb "#4477aa" title "isolation overhead (scoped − bare p50)", \
     '' using 1:%[4]d with linespoints dt 3 pt 6 lc rgb "#228833" notitle, \
     '' using 1:%[5]d with linespoints dt 3 pt 6 lc rgb "#ee6677" notitle
unset xlabel
unset xrange
`, len(sizes)-1, p, ov, ov+1, ov+2), nil
}

func httpPanel(dir string, rep report) (string, error) {
	if rep.http == nil {
		return "", nil
	}
	var d strings.Builder
	for _, t := range []string{"baseline", "secure-2q", "secure-join", "pgtenant", "postgraphile"} {
		n := "HTTP/target=" + t
		if rep.http.vals[n] != nil {
			fmt.Fprintf(&d, "\"%s\" %s\n", t, num(rep.http.med(n, "req/s"), 0))
		}
	}
	p, err := writeData(dir, "http.dat", &d)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`set title "HTTP: GET projects?limit=20, requests per second"
set style fill solid 0.8 border -1
set boxwidth 0.6
set ylabel "req/s"
set yrange [0:*]
unset key
plot '%s' using 0:2:xtic(1) with boxes lc rgb "#4477aa"
`, p), nil
}
