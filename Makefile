# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUN    := .run

.PHONY: install run decode-demo test lint typecheck unit bench bench-function bench-dedup-store bench-batch-hold bench-loader bench-backfill clean lock \
	install-bench check-terraform

install: $(VENV)/.installed

# requirements-dev.txt is a lock with hashes (scripts/lock.py): pip checks every download.
$(VENV)/.installed: pyproject.toml requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps gcloud-tasks-emulator==0.6.2  # pins protobuf<5: no deps
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# The benchmarks' charts (matplotlib) on top: not needed by `make test`.
install-bench: $(VENV)/.bench-installed

$(VENV)/.bench-installed: $(VENV)/.installed requirements-bench.txt
	$(BIN)/pip install -q -r requirements-bench.txt
	touch $@

# Regenerate the three lock files from pyproject.toml (UPGRADE=1: newest allowed versions).
UV_VERSION = $(shell sed -n 's/^UV_VERSION = "\(.*\)"/\1/p' scripts/lock.py)
lock: install
	$(BIN)/pip install -q uv==$(UV_VERSION)
	$(BIN)/python scripts/lock.py --uv $(BIN)/uv $(if $(UPGRADE),--upgrade)

# checkov in its own virtual environment, over terraform/, clean but for
# terraform/checkov-skips.toml; and terraform fmt when terraform is on PATH.
CHECKOV_VERSION = 3.3.30
CHECKOV_VENV = .venv-checkov
$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q checkov==$(CHECKOV_VERSION)
	touch $@

check-terraform: install $(CHECKOV_VENV)/.installed
	$(BIN)/python terraform/scripts/check_terraform.py --checkov $(CHECKOV_VENV)/bin/checkov

# The main job on local defaults: the decoder function on the official Pub/Sub and Firestore
# emulators, fed the project's sample raw messages through a push subscription, and the loaders
# writing its decoded and error topics to buckets on fake-gcs-server (registry there too); falls
# back to the embedded decoder (decode-demo) when the emulators are not installed.
run: install
	$(BIN)/python -m ingestion.local.demo --workdir $(RUN)/demo

# The embedded decoder over the sample messages, with a demo GeoIP database built on the spot.
decode-demo: install
	$(BIN)/python -m ingestion.local.demo_geoip $(RUN)/geoip
	rm -rf $(RUN)/decoded-demo
	$(BIN)/ingestion decode samples/raw-messages.ndjson --output $(RUN)/decoded-demo \
	  --geo-city-db $(RUN)/geoip/demo-city.mmdb --geo-isp-db $(RUN)/geoip/demo-isp.mmdb
	@echo "outputs under $(RUN)/decoded-demo/{decoded,error}/"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q -n 2

test: lint typecheck unit

bench: install-bench
	$(BIN)/python bench/decode.py

# The function end to end through a push subscription on the emulators (a few minutes).
bench-function: install-bench
	$(BIN)/python bench/function.py

# The Firestore dedup store alone: CPU per message by items per RPC (~1 minute).
bench-dedup-store: install-bench
	$(BIN)/python bench/dedup_store.py

# The batch hold (BATCH_HOLD_MS) at production-like RPC latencies, modelled (~1 minute).
bench-batch-hold: install-bench
	$(BIN)/python bench/batch_hold.py

# The loader's CPU per message next to the decoder's, throughput, flush settings (~1 minute).
bench-loader: install-bench
	$(BIN)/python bench/loader.py

# One backfill chunk worker against fake-gcs-server next to the in-process decode; 2 workers.
bench-backfill: install-bench
	$(BIN)/python bench/backfill.py

clean:
	rm -rf $(RUN) .pytest_cache .mypy_cache .ruff_cache
