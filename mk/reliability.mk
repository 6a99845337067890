# Reliability (docs/reliability.md): pgbouncer, fuzzing, the soak.

# The isolation and API suites through pgbouncer in transaction mode with
# pgx's exec mode (internal/pgtest: PGTEST_PGBOUNCER=1; docs/scaling.md).
PGBOUNCER_PKGS ?= ./internal/txscope ./internal/api

.PHONY: test-pgbouncer
test-pgbouncer: ## The txscope and api tests through pgbouncer (transaction pooling, pgx exec mode, server_reset_query_always)
	PGTEST_PGBOUNCER=1 go test $(GO_TEST_FLAGS) -count=1 $(PGBOUNCER_PKGS)
