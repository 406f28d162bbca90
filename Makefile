# otelcol-gaudi. The two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

GO       ?= go
TOOLS    := $(CURDIR)/.tools
BUILDER_VERSION := v0.165.0
BUILDER  := $(TOOLS)/builder
BIN      := $(CURDIR)/bin/otelcol-gaudi
CONFIG   ?= configs/demo.yaml
# Files produced by `make generate`; check-generated fails when regenerating changes them.
GENERATED = receiver/gaudireceiver/internal/metadata receiver/gaudireceiver/README.md \
            otelcol-gaudi/main.go otelcol-gaudi/main_others.go otelcol-gaudi/main_windows.go \
            otelcol-gaudi/components.go otelcol-gaudi/go.mod otelcol-gaudi/go.sum

.PHONY: all build run test unit-test e2e-test bench lint generate check-generated tools clean

all: build

## build: compile the distribution from the committed ocb output into bin/otelcol-gaudi
build:
	cd otelcol-gaudi && $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) .

## run: build and start the collector on the demo config (simulated HPUs)
run: build
	$(BIN) --config $(CONFIG)

## test: everything CI runs: lint, generated-code check, unit tests (race), end-to-end tests
test: lint check-generated unit-test e2e-test

unit-test:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/e2e)

e2e-test: build
	OTELCOL_GAUDI_BIN=$(BIN) $(GO) test -count=1 -timeout 15m ./test/e2e/...

## bench: benchmarks with allocations, side by side in one run
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^otelcol-gaudi/')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## generate: regenerate metadata code (go generate) and the ocb sources in otelcol-gaudi/
generate: $(BUILDER)
	$(GO) generate ./...
	$(BUILDER) --config builder-config.yaml --skip-compilation --skip-get-modules
	# hostmetrics' tests import a module the proxy does not serve; -e tolerates that test-only gap.
	cd otelcol-gaudi && $(GO) mod tidy -e

## check-generated: fail when the committed generated files differ from a fresh generation
check-generated:
	@before=$$(find $(GENERATED) -type f -print0 | sort -z | xargs -0 sha256sum); \
	$(MAKE) --no-print-directory generate >/dev/null; \
	after=$$(find $(GENERATED) -type f -print0 | sort -z | xargs -0 sha256sum); \
	if [ "$$before" != "$$after" ]; then \
	  diff <(echo "$$before") <(echo "$$after") || true; \
	  echo "generated files were stale: they are regenerated now, commit them"; exit 1; fi

$(BUILDER):
	GOBIN=$(TOOLS) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(BUILDER_VERSION)

tools: $(BUILDER)

clean:
	rm -rf bin .tools
