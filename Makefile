# pgtenant build. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

SQLC_VERSION := v1.31.1
BIN := $(CURDIR)/bin
# The server binary, relative: printed commands show no machine path.
SERVER := bin/server
SQLC := $(BIN)/sqlc-$(SQLC_VERSION)
# staticcheck 2026.2.2: the v0.8 line is the one whose go.mod targets Go 1.26.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(BIN)/staticcheck-$(STATICCHECK_VERSION)
GO_TEST_FLAGS ?=
# Stamped into the binary with -ldflags (internal/buildinfo): Go's own VCS
# stamping is off in CI (GOFLAGS=-buildvcs=false), and finds no repository
# in a git worktree or a container build context.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS  := -s -w -X github.com/pgtenant/pgtenant/internal/buildinfo.version=$(VERSION) \
            -X github.com/pgtenant/pgtenant/internal/buildinfo.revision=$(REVISION)

export CGO_ENABLED ?= 0

# Feature areas add their own targets in mk/*.mk.
-include mk/*.mk

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_\/-]+:.*## / {n[++i] = $$1; d[i] = $$2; if (length($$1) > w) w = length($$1)} END {for (j = 1; j <= i; j++) printf "  %-" w "s  %s\n", n[j], d[j]}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/server (static, version-stamped)
	@echo "go build -trimpath -o $(SERVER) ./cmd/server"
	@go build -trimpath -ldflags "$(LDFLAGS)" -o $(SERVER) ./cmd/server

DEVDB_ENV := set -a && . ./.devdb/env && set +a

# run_prepare: the local database, migrated and seeded (make run and
# run-cloudflare).
define run_prepare
go run ./cmd/devdb start
$(DEVDB_ENV) && $(SERVER) migrate up && \
$(SERVER) seed-tenant --name "Acme Corp" --slug acme --member dev@example.com:partner --demo
endef

.PHONY: run
run: build ## Start a local Postgres (.devdb/), migrate, seed "Acme Corp", serve on 127.0.0.1:8080 (AUTH_MODE=dev)
	$(run_prepare)
	$(DEVDB_ENV) && \
	AUTH_MODE=dev DEV_USER_EMAIL=dev@example.com LISTEN_ADDR=127.0.0.1:8080 LOG_FORMAT=text exec $(SERVER) serve

.PHONY: run-cloudflare
run-cloudflare: build ## make run in AUTH_MODE=cloudflare, trusting the local Access emulator (start it first: make accessemu)
	$(run_prepare)
	$(DEVDB_ENV) && \
	AUTH_MODE=cloudflare CF_ACCESS_TEAM_DOMAIN=http://127.0.0.1:9901 CF_ACCESS_AUD=pgtenant-local CF_ACCESS_INSECURE_LOOPBACK=1 \
	LISTEN_ADDR=127.0.0.1:8080 LOG_FORMAT=text exec $(SERVER) serve

.PHONY: accessemu
accessemu: ## A local stand-in for Cloudflare Access on 127.0.0.1:9901: signing keys, and tokens at /token?email=...
	go run ./cmd/accessemu

.PHONY: devdb-stop
devdb-stop: ## Stop the local Postgres started by `make run`
	go run ./cmd/devdb stop

# The suites that skip for want of a tool (pgTAP, the browser, PostgreSQL
# itself) append a line to $$PGTENANT_SKIP_LOG; test lists them at the end,
# so a skip shows without -v.
.PHONY: test
test: ## Run every test against real Postgres (starts its own; see README); lists skipped suites at the end
	@skips=$$(mktemp); trap 'rm -f "$$skips"' EXIT; \
	echo "go test $(GO_TEST_FLAGS) -count=1 ./..."; \
	PGTENANT_SKIP_LOG="$$skips" go test $(GO_TEST_FLAGS) -count=1 ./...; rc=$$?; \
	if [ -s "$$skips" ]; then \
		echo; echo "skipped suites (everything else ran):"; \
		sort -u "$$skips" | sed 's/^/  - /; s/ | /\n    /'; \
	else echo; echo "no suite skipped"; fi; \
	exit $$rc

.PHONY: test/race
test/race: ## Run the tests with the race detector
	CGO_ENABLED=1 go test $(GO_TEST_FLAGS) -race -count=1 ./...

$(SQLC):
	@mkdir -p $(BIN)
	@echo "installing sqlc $(SQLC_VERSION) into bin/ (builds with cgo; takes a few minutes once)"
	CGO_ENABLED=1 GOBIN=$(BIN) go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
	mv $(BIN)/sqlc $(SQLC)

$(STATICCHECK):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(BIN)/staticcheck $(STATICCHECK)

.PHONY: generate
generate: $(SQLC) ## Regenerate internal/dbgen from db/schema and db/queries
	$(SQLC) generate

.PHONY: verify
verify: $(SQLC) lint ## Fail when internal/dbgen differs from what sqlc generates, or lint fails
	$(SQLC) diff
	$(SQLC) vet

.PHONY: lint
lint: $(STATICCHECK) ## gofmt, go vet, staticcheck (default checks), go.mod tidy
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(STATICCHECK) ./...
	go mod tidy -diff

.PHONY: clean
clean: ## Remove build output (not .devdb/)
	rm -rf $(BIN)
