package main

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
)

func writeHTTP(w writer, r *results, httpExperiments []string, levers *results) {
	w("## HTTP (`make bench-http`)\n\n")
	if r == nil {
		w("No results yet (`docs/bench/http.txt`): run `make bench-http`.\n\n")
		return
	}
	w("`GET /v1/tenants/{t}/projects?limit=20` with wrk (2 threads, keep-alive connections) over 2,000 (user, tenant) pairs in\n")
	w("1,000 tenants, the same request list for every server, each request a real RS256 Cloudflare Access token (keys served\n")
	w("on loopback). Servers: `server serve` with `AUTH_MODE=cloudflare` and its default admission limits (rate limits per\n")
	w("tenant and user, pool shares: the request mix spreads so they refuse nothing, and any non-2xx answer fails the run,\n")
	w("so a fast 429 never counts as throughput); three hand-written baselines with the same Echo stack and token verification,\n")
	w("which exist only in the benchmark's test binary and run as the admin role (BYPASSRLS) on a bare pool, so nothing but\n")
	w("their own SQL keeps tenants apart: **baseline** reads the page `WHERE tenant_id = $1` and checks nothing (any\n")
	w("authenticated user reads any tenant); **secure-2q** is what most Go services write, two queries on one pooled\n")
	w("connection, the membership (user by email, tenant by id or slug, active, membership row), then the page `WHERE\n")
	w("tenant_id = $1`; **secure-join** does both in one statement. Both secure baselines answer a non-member, an unknown\n")
	w("or suspended tenant and an unknown user exactly as pgtenant does (`TestHTTPSecureBaselines`). PostGraphile 4.14.1 runs\n")
	w("with pgSettings from the verified token (the same policies, app.enter for the membership check). Every server has a\n")
	w("pool of 10 connections; `LOG_LEVEL=warn` for the Go servers. Medians of interleaved rounds (results of %s).\n\n", r.when.Format("2006-01-02"))
	w("| server | req/s | p50 ms | p99 ms | peak RSS MB | pgtenant vs it |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	httpRows(w, r)
	httpExperimentRows(w, httpExperiments)
	pg := httpPgtenant
	xb, x2, xj, xp := r.med(pg, "x-baseline"), r.med(pg, "x-secure-2q"), r.med(pg, "x-secure-join"), r.med(pg, "x-postgraphile")
	w("\nTargets: >= 0.8x the unscoped baseline's req/s: %s (%s). >= 1.0x secure-2q's: %s (%s). >= 5x PostGraphile's: %s (%s).\n",
		verdictOf(xb, 0.8), ratio(xb), verdictOf(x2, 1), ratio(x2), verdictOf(xp, 5), ratio(xp))
	w("No target for secure-join (%s): one statement is the fewest round trips a secure server can make.\n\n", ratio(xj))
	writeGoSide(w, r, levers)
}

// ratio is "0.62x", or a dash when not measured.
func ratio(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return num(x, 2) + "x"
}

// verdictOf is the verdict for ratio x against target; a ratio not
// measured is none.
func verdictOf(x, target float64) string {
	if math.IsNaN(x) {
		return "not measured"
	}
	return verdict(x >= target)
}

const httpPgtenant = "HTTP/target=pgtenant"

// httpTargets are the servers of the table, in order, with the ratio
// metric pgtenant reports against each.
var httpTargets = []struct{ name, ratio string }{
	{"pgtenant", ""},
	{"baseline", "x-baseline"},
	{"secure-2q", "x-secure-2q"},
	{"secure-join", "x-secure-join"},
	{"postgraphile", "x-postgraphile"},
}

// httpRows is one row per server, each with pgtenant's throughput ratio
// against it (measured interleaved in the same run).
func httpRows(w writer, r *results) {
	for _, t := range httpTargets {
		n := "HTTP/target=" + t.name
		if r.vals[n] == nil {
			continue
		}
		x := ""
		if t.ratio != "" {
			x = ratio(r.med(httpPgtenant, t.ratio))
		}
		w("| %s | %s | %s | %s | %s | %s |\n", t.name, thousands(r.med(n, "req/s")), num(r.med(n, "p50-ms"), 2), num(r.med(n, "p99-ms"), 2), num(r.med(n, "peak-rss-MB"), 0), x)
	}
}

// httpExperimentRows adds pgtenant's row of each experiment run.
func httpExperimentRows(w writer, files []string) {
	pg := httpPgtenant
	for _, f := range files {
		e := load(f)
		if e == nil || e.vals[pg] == nil {
			continue
		}
		_, name := experimentName(f, "http-experiment-")
		w("| pgtenant with %s (separate run, its own baselines) | %s | %s | %s | %s | %sx baseline, %sx secure-2q, %sx PostGraphile |\n", name,
			thousands(e.med(pg, "req/s")), num(e.med(pg, "p50-ms"), 2), num(e.med(pg, "p99-ms"), 2), num(e.med(pg, "peak-rss-MB"), 0),
			num(e.med(pg, "x-baseline"), 2), num(e.med(pg, "x-secure-2q"), 2), num(e.med(pg, "x-postgraphile"), 2))
	}
}

const httpProfile = "HTTP/target=pgtenant-profile"

// writeGoSide is pgtenant's CPU profile under the same load (make
// bench-http's last, unrecorded wrk run) and the Go-side levers measured
// (make bench-http-levers).
func writeGoSide(w writer, r, levers *results) {
	w("### Go side\n\n")
	prof := r.vals[httpProfile]
	if prof == nil {
		w("No profile in `docs/bench/http.txt`: `make bench-http` takes one.\n\n")
	} else {
		type part struct {
			name string
			pct  float64
		}
		var parts []part
		for unit := range prof {
			if name, ok := strings.CutSuffix(unit, "-cpu%"); ok && name != "process" {
				parts = append(parts, part{name, r.med(httpProfile, unit)})
			}
		}
		slices.SortFunc(parts, func(a, b part) int {
			if a.pct != b.pct {
				if a.pct > b.pct {
					return -1
				}
				return 1
			}
			return strings.Compare(a.name, b.name)
		})
		w("pgtenant's CPU profile (`PPROF_ADDR` on loopback, `go tool pprof`) during one more wrk run after the rounds: the server\n")
		w("process used %s%% of one core on average (PostgreSQL and wrk share the same cores). Its samples by\n", num(r.med(httpProfile, "process-cpu%"), 0))
		w("part of the request path (flat time of each function, attributed to the first part whose pattern matches it, in\n")
		w("`internal/perf/httpprofile_test.go`; \"jwt\" is token verification and all crypto, the HMAC of app.enter's proof\n")
		w("included: the 2,000 tokens repeat, and the verified-token cache of `auth.Cloudflare` answers repeats, in every Go\n")
		w("server alike; \"alloc\" is allocation, \"gc\" the collector, \"net-syscalls\" the socket reads and writes to clients\n")
		w("and to PostgreSQL, \"scheduler\" the rest of the runtime, \"other\" many small parts):\n\n")
		w("| part | share of the server's CPU |\n| --- | ---: |\n")
		for _, p := range parts {
			w("| %s | %s%% |\n", p.name, num(p.pct, 1))
		}
		w("\n")
	}
	if levers == nil || levers.vals[httpPgtenant] == nil {
		w("No Go-side lever results (`docs/bench/http-levers.txt`): `make bench-http-levers` measures them.\n\n")
		return
	}
	w("Go-side levers (`make bench-http-levers`, results of %s): each a pgtenant server with one change, measured in the\n", levers.when.Format("2006-01-02"))
	w("same run as an unchanged one, interleaved rounds; the ratio is its req/s over the unchanged server's (medians). The\n")
	w("control is an identical server: its distance from 1.00 is the run's noise, and a lever pays only beyond it (and 5%%).\n\n")
	w("| lever | req/s | ratio | p99 ms | peak RSS MB | beyond the noise? | decision |\n| --- | ---: | ---: | ---: | ---: | --- | --- |\n")
	w("| unchanged pgtenant | %s | 1.00 | %s | %s | | |\n", thousands(levers.med(httpPgtenant, "req/s")), num(levers.med(httpPgtenant, "p99-ms"), 2), num(levers.med(httpPgtenant, "peak-rss-MB"), 0))
	noise := math.Max(0.05, math.Abs(levers.med(httpPgtenant+"-control", "x-pgtenant")-1))
	for _, n := range levers.names {
		name, ok := strings.CutPrefix(n, "HTTP/target=pgtenant-")
		if !ok || n == httpProfile {
			continue
		}
		l, known := leverNames[name]
		if !known {
			l = lever{name, "–"}
		}
		x := levers.med(n, "x-pgtenant")
		pays := "no"
		switch {
		case name == "control":
			pays = "(the noise: " + num(noise*100, 0) + "%)"
		case math.IsNaN(x):
			pays = "–"
		case x > 1+noise:
			pays = "**yes**"
		}
		w("| %s | %s | %s | %s | %s | %s | %s |\n", l.desc, thousands(levers.med(n, "req/s")), num(x, 2), num(levers.med(n, "p99-ms"), 2), num(levers.med(n, "peak-rss-MB"), 0), pays, l.decision)
	}
	w("\nTried once and not kept (%s, the same kind of run, not repeatable by a make target since the code is gone):\n", "2026-11-29")
	w("encoding the JSON page into a pooled buffer and writing it once with its Content-Length instead of Echo's streaming\n")
	w("`c.JSON`: 0.99x an unchanged server, while the identical control server measured 0.92x. Not measured: HTTP server\n")
	w("settings (timeouts are runtime timers, not syscalls; keep-alive is already on for every client of the benchmark).\n\n")
}

// lever describes a -perf.http.variants entry of mk/bench.mk's HTTP_LEVERS
// and what was decided about it.
type lever struct{ desc, decision string }

var leverNames = map[string]lever{
	"control":  {"control: an identical pgtenant", "measures the noise"},
	"logerror": {"`LOG_LEVEL=error` (the benchmark runs at `warn`)", "not adopted: at `warn` the request log writes nothing for a 2xx answer (logging in the profile above)"},
	"gogc200":  {"`GOGC=200`", "adopted: `serve` sets it when GOGC is unset (issue 14); measured here against Go's default"},
	"gogc100":  {"`GOGC=100` (Go's default; `serve` sets 200 when GOGC is unset)", "replaced by 200: in the run before the change 200 measured 1.11x against 100 with the control at 1.02x; later runs could not tell them apart (see the control)"},
	"gogc400":  {"`GOGC=400`", "not adopted: more memory for no more than `GOGC=200` gives"},
	"procs1":   {"`GOMAXPROCS=1`", "not adopted: no gain beyond the noise, and one core caps the server on a larger machine"},
}

// leversFile is make bench-http-levers' output.
func leversFile(dir string) string { return filepath.Join(dir, "http-levers.txt") }
