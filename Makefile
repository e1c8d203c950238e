# qegate build. Native pieces live in the git-ignored .cache/ (see
# deploy/setup/*.sh and docs/ARCHITECTURE.md); every Go command here links
# against them through CGO_LDFLAGS.
#
#   make native   libtokenizers.a, libonnxruntime.so, Kafka jars, kcat
#   make build    bin/qegate with the ORT and default model paths baked in
#   make test     native + venv, lint, go test -race (with integration), pytest
#   make env      prints the exports to run go test by hand:  eval "$$(make -s env)"

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
MODULE    := github.com/qegate/qegate
CACHE     := $(CURDIR)/.cache
NATIVE_LIB := $(CACHE)/native/lib
ORT_LIB   := $(NATIVE_LIB)/libonnxruntime.so
MODEL_DIR := $(CURDIR)/models/default
BIN       := $(CURDIR)/bin/qegate
TOOLS_BIN := $(CACHE)/bin
VENV      := $(CURDIR)/train/.venv
VENV_PY   := $(VENV)/bin/python

STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS_BIN)/staticcheck-$(STATICCHECK_VERSION)

# Build tags for vet, staticcheck and go test: `integration` suites need the
# real Kafka broker of internal/kafkatest (and kcat).
TEST_TAGS ?= integration
# Lint also covers the fault suite, which test-go leaves to test-faults, and
# the container suite, which test-deploy runs.
LINT_TAGS ?= integration faults container
GO_TEST_FLAGS ?= -race -count=1 -timeout 30m
PYTEST_FLAGS ?= -q

VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

LDFLAGS := -X $(MODULE)/internal/native.ortLibrary=$(ORT_LIB) \
	-X $(MODULE)/internal/native.defaultModelDir=$(MODEL_DIR) \
	-X main.version=$(VERSION)

export CGO_ENABLED := 1
export CGO_LDFLAGS := -L$(NATIVE_LIB)
# Test binaries get the ORT path baked in too, so a test that changes its
# working directory still finds the library (GOFLAGS values cannot hold
# spaces, hence a single -X; the model dir falls back to the repo's models/).
TEST_GOFLAGS := -ldflags=-X=$(MODULE)/internal/native.ortLibrary=$(ORT_LIB)
export PYTHONPATH := $(CURDIR)/train$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: test-faults test-flaky test-fuzz test-deploy test-container
.PHONY: all native native-libs kafka-libs kcat build demo bench venv model model-l4 test test-go test-py lint lint-py vet staticcheck fmt-check env clean

all: build

## native: install every native piece into .cache/ (idempotent, quick when done)
native:
	@bash deploy/setup/all.sh

# The pieces one at a time (build needs only the two libraries, no root).
native-libs:
	@bash deploy/setup/onnxruntime.sh
	@bash deploy/setup/tokenizers.sh
kafka-libs:
	@bash deploy/setup/kafka.sh
kcat:
	@bash deploy/setup/kcat.sh

## build: bin/qegate
build: native-libs
	@mkdir -p $(dir $(BIN))
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/qegate

## demo: run the end-to-end demo
demo: build
	@bash deploy/setup/demo-data.sh
	$(BIN) demo $(DEMO_ARGS)

## bench: scoring throughput/latency benchmark; regenerates docs/BENCHMARKS.md
bench: build venv
	@mkdir -p bin
	bash bench/peers/build_hugot.sh || true
	$(BIN) bench --json --markdown docs/BENCHMARKS.md --plot docs/benchmarks.png $(BENCH_ARGS) > bin/bench.json

## venv: train/.venv from train/requirements.txt (machine-level, re-made when requirements change)
venv:
	@bash deploy/setup/venv.sh

## model: rebuild the shipped default model (2.0.0, 6 layers) with the Python recipe
## (hours on 2 CPU cores, minutes on a GPU; resumable: rerun after an interruption)
model: venv
	$(VENV_PY) -m qegate_train build-v2 $(MODEL_ARGS)

## model-l4: rebuild the 4-layer throughput tier models/l4 (1.2.0, DA only): model 1.0.0
## (build-default; kept as bench/models/l4-1.0.0), then static-int8, cpu-graph and
## fuse-attention (1.0.0's export left the attention unfused)
model-l4: venv
	$(VENV_PY) -m qegate_train build-default --out models/l4 $(MODEL_ARGS)
	$(VENV_PY) -m qegate_train static-int8 --model models/l4 --version 1.1.0
	$(VENV_PY) -m qegate_train cpu-graph --model models/l4 --version 1.1.0
	$(VENV_PY) -m qegate_train fuse-attention --model models/l4 --version 1.2.0
	$(VENV_PY) -m qegate_train glassbox --model models/l4 --write --reference models/l4/glassbox_reference.jsonl

$(STATICCHECK):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@mv $(TOOLS_BIN)/staticcheck $@

staticcheck: native-libs $(STATICCHECK)
	$(STATICCHECK) -tags '$(LINT_TAGS)' ./...

## lint-py: ruff and mypy over train/ (versions pinned in train/lint-requirements.txt)
lint-py: venv
	@$(VENV_PY) -m pip install -q -r train/lint-requirements.txt
	cd train && .venv/bin/python -m ruff check . && .venv/bin/python -m mypy

vet: native-libs
	$(GO) vet -tags '$(LINT_TAGS)' ./...

fmt-check:
	@files="$$(git ls-files -co --exclude-standard '*.go')"; \
	out="$$( [[ -z "$$files" ]] || gofmt -l $$files )"; \
	if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## lint: gofmt, go vet, staticcheck (all with the test tags), ruff and mypy over train/; runs all four
lint: native-libs $(STATICCHECK)
	@failed=""; \
	for check in fmt-check vet staticcheck lint-py; do \
		$(MAKE) --no-print-directory $$check || failed="$$failed $$check"; \
	done; \
	if [[ -n "$$failed" ]]; then echo "=== lint FAILED:$$failed"; exit 1; fi

test-go: native
	GOFLAGS='$(strip $(GOFLAGS) $(TEST_GOFLAGS))' $(GO) test $(GO_TEST_FLAGS) -tags '$(TEST_TAGS)' ./...

## test-faults: the fault-injection suite on real brokers, one node and a 3-node cluster (issues 5, 14; ~7 min)
test-faults: native
	@mkdir -p bin
	QEGATE_FAULTS_REPORT=$(CURDIR)/bin/faults-report.json GOFLAGS='$(strip $(GOFLAGS) $(TEST_GOFLAGS))' \
		$(GO) test -count=1 -timeout 30m -tags 'integration faults' -run '^TestFaults$$' -v ./cmd/qegate

## test-flaky: hunt flakes: every integration suite N times in a row (not part of `make test`)
# N=5 by default; FLAKY_RUN narrows to some tests, FLAKY_PKGS to some packages
# (default: those with *_integration_test.go), e.g.
#   make test-flaky N=20 FLAKY_RUN=TestReadinessAndHotReload FLAKY_PKGS=./internal/app
#   make test-flaky N=2 FLAKY_TAGS='integration faults' FLAKY_RUN='^TestFaults$$' FLAKY_PKGS=./cmd/qegate
# -count runs each test N times in one test binary; any failing run fails the target.
N ?= 5
FLAKY_RUN ?= .
FLAKY_TAGS ?= $(TEST_TAGS)
FLAKY_PKGS ?= $(addprefix ./,$(sort $(dir $(wildcard */*_integration_test.go */*/*_integration_test.go))))
FLAKY_TIMEOUT ?= 4h
test-flaky: native
	GOFLAGS='$(strip $(GOFLAGS) $(TEST_GOFLAGS))' $(GO) test -race -count=$(N) -timeout $(FLAKY_TIMEOUT) \
		-tags '$(FLAKY_TAGS)' -run '$(FLAKY_RUN)' $(FLAKY_PKGS)

## test-fuzz: fuzz decoding, routing, the tracker, the rules, sentence splitting and audit ids
## (FUZZTIME each, default 10s; 10m by hand). Not a stage of `make test`: a random search gates
## nothing, or a landing fails by chance on whatever bug it happens to find that day. What it
## finds is written under <pkg>/testdata/fuzz/<Fuzz name>/; commit it with the fix, and every
## `go test` (test-go) replays it with the seed corpus.
FUZZTIME ?= 10s
test-fuzz: native
	for f in FuzzDecode FuzzRoute; do \
		$(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) ./pipeline || exit 1; done
	$(GO) test -run='^$$' -fuzz='^FuzzTracker$$' -fuzztime=$(FUZZTIME) ./source
	$(GO) test -run='^$$' -fuzz='^FuzzCheck$$' -fuzztime=$(FUZZTIME) ./pipeline/rules
	$(GO) test -run='^$$' -fuzz='^FuzzSegment$$' -fuzztime=$(FUZZTIME) ./pipeline/segment
	$(GO) test -run='^$$' -fuzz='^FuzzAuditID$$' -fuzztime=$(FUZZTIME) ./internal/audit

## test-deploy: offline validation of deploy/ (Dockerfile, compose, Helm chart, KEDA, dashboard; nested module), then test-container
test-deploy: $(STATICCHECK)
	cd deploy/validate && CGO_ENABLED=0 GOFLAGS= $(GO) vet ./... && CGO_ENABLED=0 GOFLAGS= $(STATICCHECK) ./... \
		&& CGO_ENABLED=0 GOFLAGS= $(GO) test -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory test-container

## test-container: build deploy/Dockerfile's runtime stage with podman and run the image against the real broker (deploy/container; ~2 min warm)
test-container: native
	$(GO) test -count=1 -timeout 30m -tags container -v ./deploy/container

test-py: venv
	$(VENV_PY) -m pytest $(PYTEST_FLAGS) train/tests

## test: everything CI runs; every stage runs, the exit status reports any failure (fuzz corpora are
## replayed by test-go; exploratory fuzzing is test-fuzz, by hand)
test: native venv
	@failed=""; \
	for stage in lint test-go test-faults test-py test-deploy; do \
		echo "=== make $$stage"; \
		$(MAKE) --no-print-directory $$stage || failed="$$failed $$stage"; \
	done; \
	if [[ -n "$$failed" ]]; then echo "=== FAILED:$$failed"; exit 1; fi; \
	echo "=== make test: all stages passed"

## env: shell exports for running go commands by hand
env:
	@echo 'export CGO_ENABLED=1'
	@echo 'export CGO_LDFLAGS=-L$(NATIVE_LIB)'
	@echo "export GOFLAGS='$(strip $(GOFLAGS) $(TEST_GOFLAGS))'"

## clean: remove build outputs (keeps .cache/ and the venv; `make distclean` drops those too)
clean:
	rm -rf $(CURDIR)/bin
	$(GO) clean -testcache

.PHONY: distclean
distclean: clean
	rm -rf $(CACHE)
	@if [[ -L $(VENV) ]]; then rm -f $(VENV); fi
