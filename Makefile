# Fulfill's developer tasks. `make` or `make help` lists them.

GO                        ?= go
BIN                       ?= bin/fulfill
STATICCHECK_VERSION       ?= v0.8.2
FULFILL_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
FULFILL_TEST_REDIS_URL    ?= redis://127.0.0.1:6379/0
# Packages with concurrent code worth the race detector: both store engines
# (they run the storetest conformance suite), the use cases (the payment
# race), the gateways (the sandbox's deliveries), the HTTP API and the binary.
RACE_PKGS                 ?= ./internal/sqlite/... ./internal/postgres/... ./internal/app/... ./internal/gateway/... ./internal/httpapi/... ./cmd/...
BENCH_PKGS                ?= ./internal/sqlite/... ./internal/postgres/... ./internal/app/...
BENCHTIME                 ?= 2s
# `make load-checkout KEY=ffk_…`: the load generator against a running serve.
URL                       ?= http://127.0.0.1:8080
RATE_CHECKOUT             ?= 500
RATE_WEBHOOKS             ?= 1000
DURATION                  ?= 15s

.DEFAULT_GOAL := help
.PHONY: help build run test test-race test-pg lint bench load-checkout load-webhooks verify clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build the binary into bin/fulfill
	$(GO) build -o $(BIN) ./cmd/fulfill

run: ## run `fulfill serve` on the embedded database in ./fulfill-data
	$(GO) run ./cmd/fulfill serve

test: ## run every test (PostgreSQL tests skip without FULFILL_TEST_POSTGRES_URL)
	$(GO) test ./...

test-race: ## run the concurrent packages' tests under the race detector
	$(GO) test -race $(RACE_PKGS)

test-pg: ## run every test, PostgreSQL and Redis included (FULFILL_TEST_POSTGRES_URL, FULFILL_TEST_REDIS_URL)
	FULFILL_TEST_POSTGRES_URL='$(FULFILL_TEST_POSTGRES_URL)' FULFILL_TEST_REDIS_URL='$(FULFILL_TEST_REDIS_URL)' $(GO) test ./...

lint: ## go vet and staticcheck
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

bench: ## store and pipeline benchmarks on SQLite and PostgreSQL (see BENCHMARKS.md)
	FULFILL_TEST_POSTGRES_URL='$(FULFILL_TEST_POSTGRES_URL)' $(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) $(BENCH_PKGS)

load-checkout: build ## open-loop checkout load against a running serve (KEY=…, URL, RATE_CHECKOUT, DURATION)
	$(BIN) load checkout --url $(URL) --key '$(KEY)' --rate $(RATE_CHECKOUT) --duration $(DURATION)

load-webhooks: build ## open-loop signed sandbox webhooks against a running serve (KEY=…, URL, RATE_WEBHOOKS, DURATION)
	$(BIN) load webhooks --url $(URL) --key '$(KEY)' --rate $(RATE_WEBHOOKS) --duration $(DURATION)

verify: lint ## lint, then the race tests with PostgreSQL and Redis: run before a pull request
	FULFILL_TEST_POSTGRES_URL='$(FULFILL_TEST_POSTGRES_URL)' FULFILL_TEST_REDIS_URL='$(FULFILL_TEST_REDIS_URL)' $(GO) test -race $(RACE_PKGS)

clean: ## remove the built binary and the default data folder
	rm -rf bin fulfill-data
