# Two commands: `make test` and `make demo`. Everything else here serves them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Airflow home, databases and logs live inside the project, in git-ignored var/.
export AIRFLOW_HOME := $(CURDIR)/var/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
# Playwright (the browser test) drives Debian's chromium; it never downloads a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
export POSSYNC_CONFIG := $(CURDIR)/include/config/integrations.yaml
# The embedded defaults: SQLite files for the POS and the sync ledger, reached through Airflow connections.
export AIRFLOW_CONN_POSSYNC_POS := {"conn_type": "sqlite", "host": "$(CURDIR)/var/data/pos.db"}
export AIRFLOW_CONN_POSSYNC_LEDGER := {"conn_type": "sqlite", "host": "$(CURDIR)/var/data/ledger.db"}
# The head office database the stores exchange with (the demo's HO simulator writes it; PostgreSQL in production).
export AIRFLOW_CONN_POSSYNC_HEADOFFICE := {"conn_type": "sqlite", "host": "$(CURDIR)/var/data/headoffice.db"}
# The Jurnal sandbox `make demo` starts. Fixed public demo credentials, not secrets. The sandbox runs with a
# larger plan's limits (Jurnal's default is 30/min, 1,800/h) so the demo week syncs in minutes; the
# connection paces at or below the sandbox's limits, so pacing means no 429.
DEMO_JURNAL_PORT := 8601
DEMO_JURNAL_PER_MINUTE := 600
DEMO_JURNAL_PER_HOUR := 20000
export AIRFLOW_CONN_JURNAL_DEMO := {"conn_type": "jurnal", "host": "http://127.0.0.1:$(DEMO_JURNAL_PORT)", "login": "possync-demo", "password": "possync-demo-secret", "extra": {"requests_per_minute": $(DEMO_JURNAL_PER_MINUTE), "requests_per_hour": $(DEMO_JURNAL_PER_HOUR)}}
# The Accurate sandbox: the account host (what the connection names) hands out the data host, as the real
# account.accurate.id does. Fixed public demo credentials; the webhook secret is what the plugin's receiver
# expects in the URL the sandbox posts purchases to. Accurate's documented limits: 8 calls/s, 8 in flight.
DEMO_ACCURATE_ACCOUNT_PORT := 8602
export DEMO_ACCURATE_DATA_PORT := 8603
export AIRFLOW_CONN_ACCURATE_DEMO := {"conn_type": "accurate", "host": "http://127.0.0.1:$(DEMO_ACCURATE_ACCOUNT_PORT)", "password": "aat.possync-demo-token", "extra": {"signature_secret": "possync-demo-signature-secret", "webhook_secret": "possync-demo-webhook-secret", "requests_per_second": 8}}

.PHONY: venv test stack-test demo stop lint bench clean system-packages-test system-packages-stack-test \
	system-packages-demo

venv: $(STAMP)

# The Debian packages each target needs (PostgreSQL, MariaDB, Chromium, Redis, docker-compose's parser, python3-venv,
# runuser): scripts/system_packages.sh installs the missing ones with apt-get when run as root, otherwise it
# names them and the apt-get command, and stops.
system-packages-test system-packages-stack-test system-packages-demo:
	scripts/system_packages.sh $(@:system-packages-%=%)

# possync, and the development kit (devkit/: sandboxes, demo generator, HO simulator) that the demo, the tests
# and the benchmarks use; production installs possync alone (the Dockerfile's production stage).
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml devkit/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e devkit
	touch $(STAMP)

# Four test processes, one test file each at a time (--dist loadfile keeps a file's module fixtures in one process):
# most tests wait on a target API paced to its rate limit, so four share the 2-core machine well.
TEST_PROCESSES ?= 4
test: system-packages-test venv
	$(BIN)/python -m pytest -m "not stack" -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

# docker-compose.yaml's Celery stack without Docker (scripts/stack.py): PostgreSQL and Redis from Debian, two
# Celery workers, the demo week synced through them and checked through the targets' APIs (about 5 minutes;
# CI runs it after `make test`). Needs postgresql, redis-server and docker-compose (the parser only).
stack-test: system-packages-stack-test venv
	$(BIN)/python -m pytest -m stack tests/stack $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

# The demo runs `airflow standalone` (scheduler, DAG processor, API server, triggerer) on loopback only,
# with a few task workers (the sync tasks queue for the one-slot jurnal_api pool anyway).
DEMO_AIRFLOW_PORT := 8080
demo: export AIRFLOW__API__HOST := 127.0.0.1
demo: export AIRFLOW__API__PORT := $(DEMO_AIRFLOW_PORT)
demo: export AIRFLOW__API__BASE_URL := http://127.0.0.1:$(DEMO_AIRFLOW_PORT)
demo: export AIRFLOW__CORE__EXECUTION_API_SERVER_URL := http://127.0.0.1:$(DEMO_AIRFLOW_PORT)/execution/
demo: export AIRFLOW__CORE__PARALLELISM := 4
# the connection form's Test button (Airflow 3.3 disables it by default); the demo listens on loopback only
demo: export AIRFLOW__CORE__TEST_CONNECTION := Enabled
demo: export PATH := $(CURDIR)/$(BIN):$(PATH)

# Syncs the demo week into the Jurnal sandbox through the Airflow scheduler and prints the outcome;
# Airflow and the sandbox keep running in the background until `make stop` (scripts/demo.py says how).
# POSTING=per_day | per_shift: both targets' integrations post one summary per outlet and day, or per closed till
# shift (`posting` in integrations.yaml; the demo runs on a copy in var/ with it set). Switching on a kept var/ mixes
# both ways in the books: `make clean`.
POSTING ?= per_order
demo: export POSSYNC_DEMO_POSTING := $(POSTING)
demo: system-packages-demo venv
	$(BIN)/python scripts/demo.py

stop:
	scripts/stop.sh

# Slow, large-scale runs that print figures; BENCH_ROWS scales them (default a million rows each).
BENCH_ROWS ?= 1000000
bench: venv
	$(BIN)/python bench/bench_generator.py --order-lines $(BENCH_ROWS)
	$(BIN)/python bench/bench_transform.py --lines $(BENCH_ROWS)
	$(BIN)/python bench/bench_profile_extract.py --lines $(BENCH_ROWS)
	$(BIN)/python bench/bench_ledger.py --records $(BENCH_ROWS)
	$(BIN)/python bench/bench_jurnal_load.py
	$(BIN)/python bench/bench_accurate_load.py

clean: stop
	rm -rf var .pytest_cache .ruff_cache
