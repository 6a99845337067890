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
