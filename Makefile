# Timeout Guard. `make demo` and `make test` work on a fresh machine: they create the virtual
# environment and install pinned dependencies from PyPI themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
VPY := $(VENV)/bin/python
TOOLS_VENV := .venv-tools
LAYER_ZIP := dist/timeout-guard-layer.zip
LAYER_SOURCES := $(shell find layer wrapper -type f ! -name '*.pyc' 2>/dev/null) tools/build_layer.py
PYTEST_ARGS ?=
# No cache: ruff's cache key is each file's content, but which imports are first-party depends
# on the folders around it, so a cached run can pass where a fresh clone (CI) fails.
RUFF := $(VPY) -m ruff check --no-cache .
# Python versions to compile the layer's bytecode for instead of the build's default two
# (python3.11 and 3.12: about 41 KB of the 150 KiB budget each), for functions on other
# runtimes: `make layer-for BYTECODE=3.13`, or `BYTECODE=3.13 sam build`.
BYTECODE ?=

.PHONY: help venv layer layer-for runtimes test other-suites test-under-load lint demo bench clean build-TimeoutGuardLayer

help:
	@echo "make demo    run the example function with and without the layer (local Lambda runtime)"
	@echo "make test    set up everything and run the whole test suite"
	@echo "make other-suites   the suites make test runs beside pytest (botocore's own, other SDKs, OpenTelemetry's)"
	@echo "make test-under-load   make test RUNS times (3) with a busy process on every core"
	@echo "make layer   build $(LAYER_ZIP)"
	@echo "make layer-for BYTECODE=3.13   a layer zip with bytecode for those versions instead"
	@echo "make lint    ruff, and the SAM template checks (sam validate --lint, cfn-lint, sam build)"
	@echo "make bench   benchmarks into bench/results.md (FULL=1 for the long cases)"
	@echo "make conformance   botocore's and other projects' own tests, plain and with the layer (conformance/)"
	@echo "make cli     dist/timeout_guard_cli-*.whl, the rollout command carrying the layer zip"

$(VENV)/.installed: requirements-dev.txt tests/harness/pyproject.toml cli/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: set PYTHON=python3.X (3.10+)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

$(LAYER_ZIP): $(LAYER_SOURCES) $(VENV)/.installed
	$(VPY) tools/build_layer.py --zip $(LAYER_ZIP)

layer: $(LAYER_ZIP)

# The zip's name lists the versions: BYTECODE="3.10 3.13" gives timeout-guard-layer-py3.10-py3.13.zip.
layer-for: venv
	@test -n "$(strip $(BYTECODE))" || { echo 'say which versions: make layer-for BYTECODE="3.13"'; exit 2; }
	$(VPY) tools/build_layer.py --zip dist/timeout-guard-layer-py$(subst $() ,-py,$(strip $(BYTECODE))).zip --python $(BYTECODE)

# SAM's makefile builder calls this with ARTIFACTS_DIR; the same recipe as `make layer`
# (BYTECODE in the environment: as `make layer-for`).
build-TimeoutGuardLayer:
	python3 tools/build_layer.py --tree "$(ARTIFACTS_DIR)" $(if $(strip $(BYTECODE)),--python $(BYTECODE))

runtimes: venv
	$(VPY) -m locallambda

# busybox sh, one of the shells the wrapper is tested under: Debian's package, unpacked here
# (no root needed); where apt-get is missing the busybox cases are skipped and say so.
.cache/busybox:
	@mkdir -p .cache/busybox-deb
	@cd .cache/busybox-deb && apt-get download busybox >/dev/null 2>&1 \
	  && dpkg-deb -x busybox_*.deb root && cp root/bin/busybox ../busybox \
	  || echo "busybox not fetched (apt-get download busybox failed): its wrapper tests skip"

# pytest in front; the other suites beside it (tools/beside.py), their output printed after
# pytest's: pytest mostly waits on the functions' timeouts, so they fit in its wall time.
test: venv layer runtimes .cache/busybox
	$(RUFF)
	$(VPY) tools/beside.py --log .cache/other-suites.log --beside "$(MAKE) --no-print-directory other-suites" -- $(VPY) -m pytest $(PYTEST_ARGS)

# The suites `make test` runs beside pytest: botocore's own tests, the SDK tests on other
# botocores, OpenTelemetry's botocore instrumentation's tests.
other-suites: venv layer
	@echo "== botocore's own tests, plain and with the layer: the subset the patch touches (conformance/)"
	$(VPY) conformance/run.py --selection subset --botocore 1.44.5
	@echo "== tests/sdk again, on the oldest supported botocore (tests/requirements-oldest-sdk.txt)"
	tests/sdk/run_other_sdk.sh tests/requirements-oldest-sdk.txt 3.10 -q tests/sdk
	@echo "== aiobotocore clients (tests/requirements-aiobotocore.txt)"
	tests/sdk/run_other_sdk.sh tests/requirements-aiobotocore.txt 3.11 -q tests/sdk/test_aiobotocore.py tests/sdk/test_precedence.py
	@echo "== another project's own tests, plain and with the layer: OpenTelemetry's botocore instrumentation"
	$(VPY) conformance/other_suites.py

# The suite must stay green on a busy machine (CI shares its cores): `make test` RUNS times in
# a row while tools/cpu_load.py keeps one CPU-bound process of normal priority on each core.
RUNS ?= 3
test-under-load: venv layer runtimes .cache/busybox
	$(VPY) tools/cpu_load.py --runs $(RUNS) -- $(MAKE) --no-print-directory test

# The template checks' own environment: aws-sam-cli pins boto3 exactly, so never in .venv.
$(TOOLS_VENV)/.installed: tools/requirements-tools.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: set PYTHON=python3.X (3.10+)"; exit 1; }
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tools/requirements-tools.txt
	touch $@

lint: venv layer $(TOOLS_VENV)/.installed
	$(RUFF)
	SAM_CLI_TELEMETRY=0 $(TOOLS_VENV)/bin/python tools/check_template.py

demo: venv layer
	$(VPY) examples/demo.py $(if $(FULL),--full)

# Benchmark-only dependencies (matplotlib, numpy), installed into .venv on top of the test set.
$(VENV)/.bench-installed: bench/requirements.txt $(VENV)/.installed
	$(VPY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $@

bench: venv layer runtimes $(VENV)/.bench-installed
	$(VPY) bench/run.py $(if $(FULL),--full)

# botocore's own unit and functional suites, plain and with the layer, on the pinned and the
# oldest supported botocore; the counts go to conformance/results.md (see conformance/README.md).
# Then OpenTelemetry's and Sentry's own botocore tests the same way; RIC_CHECKOUT=PATH (a git
# checkout of awslambdaric) adds awslambdaric's own tests.
.PHONY: conformance
conformance: venv layer
	$(VPY) conformance/run.py --selection full --results conformance/results.md
	$(VPY) conformance/other_suites.py --suite all $(if $(RIC_CHECKOUT),--ric-checkout $(RIC_CHECKOUT))

clean:
	rm -rf dist build .aws-sam .pytest_cache .ruff_cache

# The timeout-guard command (cli/) as a wheel in dist/, carrying the layer zip built above.
.PHONY: cli
cli: layer
	rm -f dist/timeout_guard_cli-*.whl
	TIMEOUT_GUARD_LAYER_ZIP=$(abspath $(LAYER_ZIP)) $(VPY) -m pip wheel --quiet --no-deps --wheel-dir dist ./cli
	rm -rf cli/build
	@ls dist/timeout_guard_cli-*.whl
