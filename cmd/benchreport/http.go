package main

func writeHTTP(w writer, r *results, httpExperiments []string) {
	w("## HTTP (`make bench-http`)\n\n")
	if r == nil {
		w("No results yet (`docs/bench/http.txt`): run `make bench-http`.\n\n")
		return
	}
	w("`GET /v1/tenants/{t}/projects?limit=20` with wrk (2 threads, keep-alive connections) over 2,000 users in 1,000 tenants,\n")
	w("each request a real RS256 Cloudflare Access token (keys served on loopback). Servers: `server serve` with\n")
	w("`AUTH_MODE=cloudflare`; the baseline (same Echo stack and token verification, bare query, no scope; it exists only\n")
	w("in the benchmark's test binary); PostGraphile 4.14.1 with pgSettings from the verified token (the same policies,\n")
	w("app.enter for the membership check). `LOG_LEVEL=warn` for both Go servers. Medians of interleaved rounds (results of %s).\n\n", r.when.Format("2006-01-02"))
	w("| server | req/s | p50 ms | p99 ms | peak RSS MB | pgtenant vs it |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	httpRows(w, r)
	httpExperimentRows(w, httpExperiments)
	xb, xp := r.med(httpPgtenant, "x-baseline"), r.med(httpPgtenant, "x-postgraphile")
	w("\nTargets: >= 0.8x the baseline's req/s: %s (%sx). >= 5x PostGraphile's: %s (%sx).\n\n", verdict(xb >= 0.8), num(xb, 2), verdict(xp >= 5), num(xp, 2))
}

const httpPgtenant = "HTTP/target=pgtenant"

// httpRows is one row per server, each with pgtenant's throughput ratio
// against it (measured interleaved in the same run).
func httpRows(w writer, r *results) {
	pg := httpPgtenant
	for _, t := range []string{"pgtenant", "baseline", "postgraphile"} {
		n := "HTTP/target=" + t
		if r.vals[n] == nil {
			continue
		}
		ratio := ""
		switch t {
		case "baseline":
			ratio = num(r.med(pg, "x-baseline"), 2) + "x"
		case "postgraphile":
			ratio = num(r.med(pg, "x-postgraphile"), 2) + "x"
		}
		w("| %s | %s | %s | %s | %s | %s |\n", t, thousands(r.med(n, "req/s")), num(r.med(n, "p50-ms"), 2), num(r.med(n, "p99-ms"), 2), num(r.med(n, "peak-rss-MB"), 0), ratio)
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
		w("| pgtenant with %s (separate run, its own baseline) | %s | %s | %s | %s | %sx baseline, %sx PostGraphile |\n", name,
			thousands(e.med(pg, "req/s")), num(e.med(pg, "p50-ms"), 2), num(e.med(pg, "p99-ms"), 2), num(e.med(pg, "peak-rss-MB"), 0),
			num(e.med(pg, "x-baseline"), 2), num(e.med(pg, "x-postgraphile"), 2))
	}
}
