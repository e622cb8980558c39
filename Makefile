# Fulfill's developer tasks. `make` or `make help` lists them.

GO                        ?= go
BIN                       ?= bin/fulfill
STATICCHECK_VERSION       ?= v0.8.2
FULFILL_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
# Packages with concurrent code worth the race detector: both store engines
# (they run the storetest conformance suite), the HTTP API and the binary.
RACE_PKGS                 ?= ./internal/sqlite/... ./internal/postgres/... ./internal/httpapi/... ./cmd/...
BENCH_PKGS                ?= ./internal/sqlite/... ./internal/postgres/...
BENCHTIME                 ?= 2s

.DEFAULT_GOAL := help
.PHONY: help build run test test-race test-pg lint bench verify clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build the binary into bin/fulfill
	$(GO) build -o $(BIN) ./cmd/fulfill

run: ## run `fulfill serve` on the embedded database in ./fulfill-data
	$(GO) run ./cmd/fulfill serve

test: ## run every test (PostgreSQL tests skip without FULFILL_TEST_POSTGRES_URL)
	$(GO) test ./...

test-race: ## run the concurrent packages' tests under the race detector
	$(GO) test -race $(RACE_PKGS)

test-pg: ## run every test, PostgreSQL included (FULFILL_TEST_POSTGRES_URL)
	FULFILL_TEST_POSTGRES_URL='$(FULFILL_TEST_POSTGRES_URL)' $(GO) test ./...

lint: ## go vet and staticcheck
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

bench: ## store benchmarks on SQLite and PostgreSQL (see BENCHMARKS.md)
	FULFILL_TEST_POSTGRES_URL='$(FULFILL_TEST_POSTGRES_URL)' $(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) $(BENCH_PKGS)

verify: lint ## lint, then the race tests with PostgreSQL: run before a pull request
	FULFILL_TEST_POSTGRES_URL='$(FULFILL_TEST_POSTGRES_URL)' $(GO) test -race $(RACE_PKGS)

clean: ## remove the built binary and the default data folder
	rm -rf bin fulfill-data
