# Everything a developer or CI runs. `make test` is the test command.
GO       ?= go
PKGS     ?= ./...
BIN      := bin/portal
# Go's -race needs cgo; CI runs the suite with it.
RACE     ?= -race

.PHONY: all build run test test-short bench fuzz lambdas generate check-generated fmt lint tools plan deploy destroy clean

all: build

build: ## the portal binary
	$(GO) build -o $(BIN) ./web/cmd/portal

run: build ## the whole stack offline: portal, identity provider, HTTP API
	./$(BIN) dev

tools: ## what the tests start (npm): dynalite, and amazon-cognito-identity-js for SRP; without npm those tests skip (or fail under CI=true)
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory node_modules; \
	else echo "npm not found: the DynamoDB and SRP client tests will skip"; fi

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch node_modules

test: tools ## everything CI checks
	$(GO) vet $(PKGS)
	$(GO) test $(RACE) -timeout 20m $(PKGS)

test-short: ## quick unit tests, no outside programs
	$(GO) test -short $(PKGS)

bench: tools ## the figures the issues name
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

FUZZTIME ?= 2m
fuzz: ## fuzz the POST /user body path and the GET /users query
	$(GO) test -run '^$$' -fuzz FuzzCreateUser -fuzztime $(FUZZTIME) ./api/
	$(GO) test -run '^$$' -fuzz FuzzListUsers -fuzztime $(FUZZTIME) ./api/

lambdas: ## dist/lambdas/<function>.zip for every route
	$(GO) run ./lambdas/bundle/cmd/bundle -o dist/lambdas

# Generated per directory, so each *_templ.go names its source by file name
# alone, whoever runs the generator and from where.
TEMPL_DIRS = $(sort $(dir $(shell git ls-files '*.templ')))

generate: ## templ components
	@for d in $(TEMPL_DIRS); do $(GO) tool templ generate -log-level warn -path $$d || exit 1; done

check-generated: generate ## fail when generated or formatted files are stale
	@for d in $(TEMPL_DIRS); do $(GO) tool templ fmt $$d || exit 1; done
	@git diff --exit-code -- '*.templ' '*_templ.go' || { echo "templ output is stale: run make generate and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- '*_templ.go')" || { echo "uncommitted templ output:"; git status --short -- '*_templ.go'; exit 1; }

fmt:
	gofmt -w $$(git ls-files '*.go')
	$(GO) tool templ fmt .
	if command -v terraform >/dev/null; then terraform fmt -recursive terraform; fi

lint:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

plan: build
	./$(BIN) plan -var-file terraform/env/dev.tfvars

deploy: build
	./$(BIN) deploy -var-file terraform/env/dev.tfvars

destroy: build
	./$(BIN) destroy -var-file terraform/env/dev.tfvars

clean:
	rm -rf bin dist
