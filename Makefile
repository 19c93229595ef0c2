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

.PHONY: help venv layer runtimes test lint demo bench clean build-TimeoutGuardLayer

help:
	@echo "make demo    run the example function with and without the layer (local Lambda runtime)"
	@echo "make test    set up everything and run the whole test suite"
	@echo "make layer   build $(LAYER_ZIP)"
	@echo "make lint    ruff, and the SAM template checks (sam validate --lint, cfn-lint, sam build)"
	@echo "make bench   benchmarks into bench/results.md (FULL=1 for the long cases)"

$(VENV)/.installed: requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: set PYTHON=python3.X (3.10+)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

$(LAYER_ZIP): $(LAYER_SOURCES) $(VENV)/.installed
	$(VPY) tools/build_layer.py --zip $(LAYER_ZIP)

layer: $(LAYER_ZIP)

# SAM's makefile builder calls this with ARTIFACTS_DIR; the same recipe as `make layer`.
build-TimeoutGuardLayer:
	python3 tools/build_layer.py --tree "$(ARTIFACTS_DIR)"

runtimes: venv
	$(VPY) tests/locallambda/provision.py

test: venv layer runtimes
	$(VPY) -m ruff check .
	$(VPY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VPY) -m ruff check .

demo: venv layer
	$(VPY) examples/demo.py $(if $(FULL),--full)

bench: venv layer runtimes
	$(VPY) bench/run.py $(if $(FULL),--full)

clean:
	rm -rf dist build .aws-sam .pytest_cache .ruff_cache
