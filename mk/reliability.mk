# Reliability (docs/reliability.md): pgbouncer, fuzzing, the soak.

# The isolation and API suites through pgbouncer in transaction mode with
# pgx's exec mode (internal/pgtest: PGTEST_PGBOUNCER=1; docs/scaling.md).
PGBOUNCER_PKGS ?= ./internal/txscope ./internal/api

.PHONY: test-pgbouncer
test-pgbouncer: ## The txscope and api tests through pgbouncer (transaction pooling, pgx exec mode, server_reset_query_always)
	PGTEST_PGBOUNCER=1 go test $(GO_TEST_FLAGS) -count=1 $(PGBOUNCER_PKGS)

# Go native fuzzing: each target for FUZZTIME (their seed corpora, under
# testdata/fuzz, also run as plain tests in `make test`). A crash stops the
# run and leaves its input in the package's testdata/fuzz/<target>/: commit
# it with the fix, as a regression case.
FUZZTIME ?= 10s
FUZZ_PARALLEL ?= 2
FUZZ_TARGETS := ./internal/tenancy:FuzzCursorDecode ./internal/httpx:FuzzDecodeJSON ./internal/httpx:FuzzFailure \
	./internal/tenancy/rules:FuzzEmailNormalization ./internal/tenancy/rules:FuzzSlug \
	./internal/cfaccess:FuzzTokenPreParse ./internal/rlscheck:FuzzParseNodeTree

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 10s): cursors, JSON bodies, error mapping, email and slug rules, the token pre-parse, policy trees
	@set -eo pipefail; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		go test $$pkg -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -parallel $(FUZZ_PARALLEL) 2>&1 | grep -v '^fuzz: elapsed'; \
	done

# The soak (cmd/soak): many tenants, mixed reads and writes, client
# cancellations, injected handler panics (the faultinject build of the
# server, never `make build`'s), one killed backend and one PostgreSQL
# restart, on a private cluster on loopback. Exits non-zero on a leak, a
# lost acknowledged write, a contract breach or a server that did not
# recover. `make soak` writes its report to docs/soak.txt
# (docs/reliability.md quotes it); soak-ci is the short run of CI.
SOAK_DURATION ?= 5m
SOAK_FLAGS ?= -tenants 30 -users 3 -workers 12

.PHONY: soak soak-ci soak-build
soak-build:
	@mkdir -p .soak
	go build -tags faultinject -o .soak/server ./cmd/server
	go build -o .soak/soak ./cmd/soak

soak: soak-build ## Soak for SOAK_DURATION (default 5m) with a killed backend and a PostgreSQL restart; report in docs/soak.txt
	set -o pipefail; .soak/soak -server .soak/server -duration $(SOAK_DURATION) $(SOAK_FLAGS) | tee docs/soak.txt.tmp
	mv docs/soak.txt.tmp docs/soak.txt

soak-ci: soak-build ## The soak, short (60 s of load, 12 tenants): CI
	.soak/soak -server .soak/server -duration 60s -tenants 12 -users 3 -workers 8
