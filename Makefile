# Two commands do all the set-up: `make run` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT ?= 8501

.PHONY: run test test-fast install dev chromium lint bench clean-venv

$(BIN)/python:
	$(PY) -m venv $(VENV) || { $(SUDO) apt-get update && $(SUDO) apt-get install -y python3-venv && $(PY) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

# Debian's Chromium: kaleido (static chart export) and the browser tests use it; nothing downloads a browser.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-dejavu-core; }

# On an empty workspace: the sample reservoir, and the app's first start trains its default model in the background
# (the Overview and Forecast pages say so, then show the forecast). SENTINEL_FIRST_MODEL=0 make run skips that.
run: install chromium
	$(BIN)/python -m core sample --if-empty
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: dev chromium
	$(BIN)/python -m pytest

# The fast lane: everything not marked slow (no training, app server, browser or Ray; README "Test lanes").
test-fast: dev chromium
	$(BIN)/python -m pytest -m "not slow"

lint: dev
	$(BIN)/ruff check core pages app.py tests bench

# The benchmark's peers (statsforecast, neuralforecast on CPU torch) live in their own venv, never in the app's.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: requirements.txt bench/requirements.txt
	$(PY) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -r requirements.txt -r bench/requirements.txt
	$(BENCH_VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

bench: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python -m bench.run

clean-venv:
	rm -rf $(VENV)
