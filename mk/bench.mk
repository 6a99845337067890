# Benchmarks (issue 6). docs/benchmarks.md explains them and shows the last
# results; every target below rewrites its raw results under docs/bench/ and
# regenerates docs/benchmarks.md and docs/benchmarks.png from all of them.
# None of this is part of `make test`; CI runs `make bench-ci`.

BENCH_DIR   := docs/bench
BENCH_COUNT ?= 8
BENCH_TIME  ?= 1s
# Scale sizes: projects (and as many tasks) over 10k tenants.
SCALE_SIZES ?= 100000,1000000,10000000
SCALE_ROUNDS ?= 5
# HTTP: wrk connections, seconds per run, interleaved rounds.
HTTP_CONNS  ?= 16
HTTP_SECS   ?= 10
HTTP_ROUNDS ?= 3
PERF_PKG    := ./internal/perf

.PHONY: bench bench-scale bench-http bench-http-levers bench-profile bench-ci bench-docs bench-deps bench-experiments bench-http-experiments

bench: ## DB benchmarks: scoped read/write vs unscoped floor and vs no guard, 1 and 4 clients, medians of -count=8; non-member lookup timing
	@mkdir -p $(BENCH_DIR)
	set -o pipefail; go test $(PERF_PKG) -run '^$$' -bench '^(BenchmarkScope|BenchmarkEnterNonMember)$$' -benchtime=$(BENCH_TIME) -count=$(BENCH_COUNT) -timeout 90m \
		| tee $(BENCH_DIR)/scope.txt.tmp
	mv $(BENCH_DIR)/scope.txt.tmp $(BENCH_DIR)/scope.txt
	$(MAKE) --no-print-directory bench-docs

bench-profile: ## Where the time goes in the database: pg_stat_statements (nested statements too) and EXPLAIN of a scoped read and write
	@mkdir -p $(BENCH_DIR)
	PGTEST_BACKEND=local PGTEST_SETTINGS=shared_preload_libraries=pg_stat_statements \
		go test $(PERF_PKG) -run '^$$' -bench '^BenchmarkDatabaseProfile$$' -benchtime=1x -count=1 -timeout 20m \
		-perf.profile=$(CURDIR)/$(BENCH_DIR)/profile.txt
	$(MAKE) --no-print-directory bench-docs

bench-scale: ## Page p50/p99 at 100k, 1M, 10M rows on a tuned throwaway cluster (loads ~22M rows with COPY; ~15 min)
	@mkdir -p $(BENCH_DIR)
	rm -f $(BENCH_DIR)/scale-load.txt
	set -o pipefail; url=$$(go run ./internal/perf/scaledb start) || exit 1; \
	TEST_DATABASE_URL="$$url" PGTEST_BACKEND=url \
		go test $(PERF_PKG) -run '^$$' -bench '^BenchmarkScale$$' -benchtime=1x -count=1 -timeout 180m \
		-perf.scale.rounds=$(SCALE_ROUNDS) -perf.scale.samples=2000 -perf.scale.prewarm \
		-perf.scale=$(SCALE_SIZES) -perf.results=$(CURDIR)/$(BENCH_DIR) | tee $(BENCH_DIR)/scale.txt.tmp; \
	rc=$$?; go run ./internal/perf/scaledb stop; exit $$rc
	mv $(BENCH_DIR)/scale.txt.tmp $(BENCH_DIR)/scale.txt
	$(MAKE) --no-print-directory bench-docs

HTTP_TEST = go test $(PERF_PKG) -run '^$$' -bench '^BenchmarkHTTP$$' -benchtime=1x -count=1 -timeout 60m \
	-perf.http -perf.server=$(CURDIR)/.bench/server -perf.postgraphile=$(CURDIR)/.bench/postgraphile \
	-perf.http.conns=$(HTTP_CONNS) -perf.http.secs=$(HTTP_SECS) -perf.http.rounds=$(HTTP_ROUNDS)

.PHONY: bench-http-prep
bench-http-prep:
	@command -v wrk >/dev/null || { echo "bench-http needs wrk: make bench-deps"; exit 1; }
	@mkdir -p $(BENCH_DIR) .bench
	bench/postgraphile/install.sh
	go build -o .bench/server ./cmd/server

bench-http: bench-http-prep ## HTTP: wrk vs the unscoped and secure hand-written baselines vs PostGraphile 4.14.1, and pgtenant's CPU profile (needs wrk, node, npm: make bench-deps)
	set -o pipefail; $(HTTP_TEST) -perf.http.profile=$(CURDIR)/.bench/pgtenant.cpu.pprof | tee $(BENCH_DIR)/http.txt.tmp
	mv $(BENCH_DIR)/http.txt.tmp $(BENCH_DIR)/http.txt
	$(MAKE) --no-print-directory bench-docs

# Go-side levers of the HTTP server (issue 14): each name:VAR=value+... is
# one more pgtenant server with that environment, measured interleaved with
# an unchanged one (x-pgtenant); "control" changes nothing (the server reads
# no PGTENANT_CONTROL) and measures the noise. PostGraphile is left out.
# cmd/benchreport's leverNames says what each is and what was decided.
HTTP_LEVERS ?= control:PGTENANT_CONTROL=1,logerror:LOG_LEVEL=error,gogc100:GOGC=100,gogc400:GOGC=400,procs1:GOMAXPROCS=1

bench-http-levers: bench-http-prep ## HTTP: pgtenant with each Go-side lever (GOGC, GOMAXPROCS, log level, ...) against an unchanged pgtenant, interleaved
	set -o pipefail; $(HTTP_TEST) -perf.postgraphile= -perf.http.variants='$(HTTP_LEVERS)' | tee $(BENCH_DIR)/http-levers.txt.tmp
	mv $(BENCH_DIR)/http-levers.txt.tmp $(BENCH_DIR)/http-levers.txt
	$(MAKE) --no-print-directory bench-docs

# Measured trade-offs not adopted (bench/experiments/*.sql): applied to a
# scratch benchmark database, never by migrations; docs/benchmarks.md says
# why. None at the moment: the last one, app.enter as SECURITY DEFINER, was
# adopted by the unforgeable context (issue 10, docs/security.md). Add
# name=file pairs to EXPERIMENTS.
EXP := bench/experiments
EXPERIMENTS :=

bench-experiments: ## Measure bench/experiments (scoped rows of make bench, -count=4 each)
	@mkdir -p $(BENCH_DIR)
	@set -e; for e in $(EXPERIMENTS); do name=$${e%%=*}; files=$${e#*=}; \
		abs=$$(echo "$$files" | sed "s#\([^,]*\)#$(CURDIR)/\1#g"); \
		echo "== $$name"; \
		go test $(PERF_PKG) -run '^$$' -bench '^BenchmarkScope$$/op=/clients=/variant=(scoped|pipelined-setconfig)$$' \
			-benchtime=$(BENCH_TIME) -count=4 -timeout 60m -perf.sql="$$abs" | tee $(BENCH_DIR)/experiment-$$name.txt; \
	done
	$(MAKE) --no-print-directory bench-docs

bench-http-experiments: bench-http-prep ## bench-http with each of bench/experiments applied (separate runs)
	@set -e; for e in $(EXPERIMENTS); do name=$${e%%=*}; files=$${e#*=}; \
		set -o pipefail; $(HTTP_TEST) -perf.sql=$(CURDIR)/$$files | tee $(BENCH_DIR)/http-experiment-$$name.txt; \
	done
	$(MAKE) --no-print-directory bench-docs

bench-ci: ## Every benchmark once (-benchtime=1x, small data): they keep compiling and stay correct
	go test $(PERF_PKG) -run '^$$' -bench . -benchtime=1x -count=1 -timeout 20m

bench-docs: ## Regenerate docs/benchmarks.md and its chart from docs/bench/*.txt (chart needs gnuplot)
	go run ./cmd/benchreport -in $(BENCH_DIR) -md docs/benchmarks.md -png docs/benchmarks.png

# node and npm come from apt only when missing: Debian's nodejs and npm
# conflict with an installed NodeSource (or other) node, which brings npm.
bench-deps: ## Install what bench-http and the chart need (wrk, gnuplot; node and npm from Debian only if missing)
	@pkgs="wrk gnuplot-nox"; \
	if command -v node >/dev/null; then echo "node $$(node --version) found at $$(command -v node): kept"; else pkgs="$$pkgs nodejs"; fi; \
	if command -v npm >/dev/null; then echo "npm $$(npm --version) found: kept"; else pkgs="$$pkgs npm"; fi; \
	echo "apt-get install -y $$pkgs"; \
	apt-get install -y $$pkgs
