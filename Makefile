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
            otelcol-gaudi/components.go otelcol-gaudi/go.mod otelcol-gaudi/go.sum \
            dashboards/alerts.json dashboards/hpu-monitoring.json dashboards/infrastructure.json \
            dashboards/training-performance.json docs/dashboards \
            deploy/kubernetes/kube-prometheus-stack/prometheusrule.yaml \
            deploy/kubernetes/kube-prometheus-stack/dashboards.yaml

.PHONY: all build run demo monitor-up monitor-down test test-deps unit-test bench-smoke fuzz-test rules-test e2e-test bench lint generate check-generated tools clean package

all: build

## build: compile the distribution from the committed ocb output into bin/otelcol-gaudi
build:
	@# CGO off, as ocb builds: HLML is loaded with purego, not cgo.
	cd otelcol-gaudi && CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) .

## package: dist/otelcol-gaudi_<version>_<arch>.deb and dist/otelcol-gaudi-<version>-1.<arch>.rpm with the
## binary, the systemd unit and /etc/otelcol-gaudi (deploy/package/nfpm.yaml, built by nfpm as a library)
VERSION ?= $(shell sed -n 's/^  version: *//p' builder-config.yaml | head -1)
package: build
	$(GO) run ./internal/tools/pkgbuild -bin $(BIN) -version $(VERSION) -out dist

## run: build and start the collector on the demo config (simulated HPUs)
run: build
	$(BIN) --config $(CONFIG)

## demo: the collector on the demo config in the background and trainsim's 8 ranks training on its
## simulated HPUs in the foreground; Ctrl-C stops both. TRAINSIM_FLAGS adds or overrides trainsim flags.
# Rank i uses the HPU with hpu_index i: its module id is read from the collector's hpu_info. Rank 3 slows
# down 12x after 90s, when device 3 overheats, so SlowBatchProcessing fires next to HPUHighTemperature.
TRAINSIM_FLAGS ?=
demo: build
	$(GO) build -o bin/trainsim ./cmd/trainsim
	@# setsid: Ctrl-C reaches trainsim only, which flushes to the still running collector before the trap stops it.
	@setsid $(BIN) --config configs/demo.yaml & collector=$$!; \
	trap 'kill $$collector 2>/dev/null; wait $$collector || true' EXIT; \
	for _ in $$(seq 60); do \
	  kill -0 $$collector 2>/dev/null || { echo "the collector exited; is 'make run' still running?"; exit 1; }; \
	  modules=$$(curl -fs http://127.0.0.1:8889/metrics | \
	    sed -n 's/^hpu_info{.*hpu_index="\([0-9]*\)".*hpu_module_id="\([0-9]*\)".*/\1 \2/p' | sort -n | cut -d' ' -f2 | paste -sd, -) || true; \
	  [ -n "$$modules" ] && break; sleep 1; \
	done; \
	[ -n "$$modules" ] || { echo "no hpu_info on http://127.0.0.1:8889/metrics after 60s"; exit 1; }; \
	echo "trainsim: 8 ranks on the HPU modules $$modules (hpu_index 0-7); Ctrl-C stops trainsim and the collector"; \
	bin/trainsim -ranks 8 -visible-modules $$modules -hpu-indexes 0,1,2,3,4,5,6,7 -log-every 30 \
	  -fault-ranks 3 -slow-factor 12 -slow-after 90s $(TRAINSIM_FLAGS)

## monitor-up: in the background, without Docker: the collector on configs/demo.yaml, a Prometheus scraping it
## and evaluating configs/prometheus/rules, and Alertmanager when installed; waits until all are ready and
## prints where to look. State and logs in .monitor/ (MONITOR_DIR); ports: see deploy/monitor.sh
monitor-up: build
	OTELCOL_GAUDI_BIN=$(BIN) deploy/monitor.sh up

## monitor-down: stop what monitor-up started
monitor-down:
	deploy/monitor.sh down

## test: everything CI runs: lint, generated-code check, unit tests (race), end-to-end tests
test: test-deps lint check-generated unit-test bench-smoke fuzz-test hlml-asan-test rules-test e2e-test

## test-deps: the real Prometheus and Alertmanager, and Debian's Python with PyTorch and prometheus_client
## for the prometheus_client training ranks (Debian packages) that the end-to-end tests run; systemd-analyze
## and rpm for the package tests
test-deps:
	@# prometheus-alertmanager installs its server as prometheus-alertmanager, beside amtool.
	@# /usr/bin/python3, not the python3 on PATH: only Debian's interpreter sees Debian's Python packages.
	@missing=; \
	command -v prometheus >/dev/null && command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v amtool >/dev/null && { command -v alertmanager || command -v prometheus-alertmanager; } >/dev/null || \
	  missing="$$missing prometheus-alertmanager"; \
	/usr/bin/python3 -c 'import torch' 2>/dev/null || missing="$$missing python3-torch"; \
	/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || missing="$$missing python3-prometheus-client"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	command -v rpm >/dev/null || missing="$$missing rpm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing the Debian packages$$missing for the end-to-end tests"; \
	  sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

## bench-smoke: every benchmark once (no timing), so a benchmark broken by a change fails CI rather than the
## next `make bench`; bench/ is left to `make bench`, since it builds the upstream-only distribution first
bench-smoke:
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x $$($(GO) list ./... | grep -v -e /test/e2e -e '/bench$$')

unit-test:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/e2e)

## fuzz-test: fuzz every parser of outside text for FUZZTIME each: hl-smi's CSV, `-n link`/`-n ports`, `-n stats`
## and `-q` output, sysfs attributes, the hwmon sensors configuration, the check of identity strings, Slurm job
## mapping files and PCI addresses (hpu_job), OTLP sender names (threshold). A crasher is written to the
## package's testdata/fuzz/<target>/: commit it, it then runs as a regression case in every `go test`. Seeds:
## the recorded outputs in testdata and testdata/fuzz. The first failing target stops the run.
## (FuzzScrapeIdentity in receiver/gaudireceiver, the same check through a whole scrape, runs on its seeds in unit-test;
## fuzz it by hand: its instrumented build takes minutes.)
FUZZTIME ?= 3s
GAUDI := receiver/gaudireceiver
FUZZ_TARGETS = $(GAUDI)/internal/hpu:FuzzCheckText $(GAUDI)/internal/hlsmi:FuzzParseQuery \
               $(GAUDI)/internal/hlsmi:FuzzParseLinks $(GAUDI)/internal/hlsmi:FuzzParseNICStats \
               $(GAUDI)/internal/hlsmi:FuzzParseDetails $(GAUDI)/internal/sysfs:FuzzReadAttribute \
               $(GAUDI)/internal/hwmon:FuzzParseConfig processor/hpujobprocessor:FuzzParseMapping \
               processor/hpujobprocessor:FuzzPCIBusID internal/ruleengine:FuzzSenderName
## Go 1.26's fuzz coordinator can end a run with a bare "context deadline exceeded" when -fuzztime expires
## while a worker is mid-call (go.dev/issue/75804, fixed in Go 1.27): such a run, which wrote no failing
## input, is reported and passes; any other failure fails.
fuzz-test:
	@for target in $(FUZZ_TARGETS); do \
	  pkg=./$${target%%:*}; fn=$${target##*:}; \
	  echo "fuzzing $$fn ($$pkg) for $(FUZZTIME)"; \
	  rc=0; out=$$($(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) || rc=$$?; echo "$$out"; \
	  if [ $$rc -ne 0 ]; then \
	    why=$$(grep -A1 -e '^--- FAIL: ' <<<"$$out" | grep -v -e '^--- FAIL: ' || true); \
	    if [ "$$why" != "    context deadline exceeded" ] || grep -q 'Failing input written to' <<<"$$out"; then exit 1; fi; \
	    echo "$$fn: the fuzztime deadline race of go.dev/issue/75804, no failing input: not a failure"; \
	  fi; \
	done

## hlml-asan-test: the HLML source's tests against a fake libhlml.so built with AddressSanitizer, in a
## CGO_ENABLED=0 test binary as ocb builds (ASan watches the library's side; Go's buffers carry guard bytes)
hlml-asan-test:
	@mkdir -p $(TOOLS)
	@printf '#!/bin/sh\nexec gcc -fsanitize=address -fno-omit-frame-pointer "$$@"\n' > $(TOOLS)/asan-gcc && chmod +x $(TOOLS)/asan-gcc
	CGO_ENABLED=0 $(GO) test -c -o $(TOOLS)/hlml.test ./receiver/gaudireceiver/internal/hlml/
	cd receiver/gaudireceiver/internal/hlml && CC=$(TOOLS)/asan-gcc ASAN_OPTIONS=detect_leaks=0 \
	  LD_PRELOAD=$$(gcc -print-file-name=libasan.so) $(TOOLS)/hlml.test -test.count=1

## rules-test: the alert rules' unit tests, through promtool and through our rule engine (cmd/ruletest)
rules-test:
	promtool check rules configs/prometheus/rules/*.rules.yaml configs/prometheus/rules/compat/*.rules.yaml \
	  configs/prometheus/rules/testdata/*.rules.yaml
	promtool test rules configs/prometheus/rules/*.test.yaml
	$(GO) run ./cmd/ruletest configs/prometheus/rules/*.test.yaml

e2e-test: build $(BUILDER)
	OTELCOL_GAUDI_BIN=$(BIN) OCB_BIN=$(BUILDER) $(GO) test -count=1 -timeout 15m ./test/e2e/...
	@# bench/'s scrape benchmark once, as bench-smoke does for the others (about 20 s; BenchmarkIngest needs
	@# the upstream-only build and is left to `make bench`)
	OTELCOL_GAUDI_BIN=$(BIN) $(GO) test -count=1 -run '^$$' -bench '^BenchmarkScrapeIngest$$' -benchtime 1x ./bench/

## bench: benchmarks with allocations, side by side in one run; bench/ compares otelcol-gaudi's OTLP ingest
## with an upstream-only build of the same pipeline (docs/performance.md)
bench: build $(BUILDER)
	OTELCOL_GAUDI_BIN=$(BIN) OCB_BIN=$(BUILDER) $(GO) test -run '^$$' -bench . -benchmem -count 3 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^otelcol-gaudi/')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## generate: regenerate metadata code, the dashboards and their docs (go generate) and the ocb sources in otelcol-gaudi/
generate: $(BUILDER)
	$(GO) generate ./...
	@# ocb writes the sources and go.mod, then its own `go mod tidy` fails on one known gap:
	@# hostmetricsreceiver's tests import scraper/scrapertest, which the module proxy does not serve.
	@# Any other failure stops here; `go mod tidy -e` then tidies around that test-only gap.
	@mkdir -p $(TOOLS)
	@$(BUILDER) --config builder-config.yaml --skip-compilation >$(TOOLS)/ocb.log 2>&1 || \
	  grep -q 'scraper/scrapertest@$(BUILDER_VERSION).*403' $(TOOLS)/ocb.log || { cat $(TOOLS)/ocb.log; exit 1; }
	cd otelcol-gaudi && $(GO) mod tidy -e 2>/dev/null

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
	rm -rf bin .tools dist
