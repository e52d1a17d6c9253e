# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUN    := .run

.PHONY: install run decode-demo test lint typecheck unit bench bench-function clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# The main job on local defaults: the decoder function on the official Pub/Sub and Firestore
# emulators, fed the project's sample raw messages through a push subscription; falls back to
# the embedded decoder (decode-demo) when the emulators are not installed.
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

bench: install
	$(BIN)/python bench/decode.py

# The function end to end through a push subscription on the emulators (a few minutes).
bench-function: install
	$(BIN)/python bench/function.py

clean:
	rm -rf $(RUN) .pytest_cache .mypy_cache .ruff_cache
