# coprod-kg: two commands on a fresh clone, `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install serve load test lint typecheck pytest system-deps docs bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

YASGUI := api/static/yasgui/yasgui.min.js
$(YASGUI): scripts/fetch-yasgui.sh
	bash scripts/fetch-yasgui.sh

install: $(STAMP) $(YASGUI)

## Load the ontology and the curated cases into the embedded store, then serve them.
serve: install
	$(BIN)/coprod-kg load
	$(BIN)/coprod-kg serve

load: install
	$(BIN)/coprod-kg load

## Install what the tests need (Java for HermiT, Chromium for the browser tests) and run them all.
test: install system-deps lint typecheck pytest

system-deps:
	bash scripts/system-deps.sh

lint: install
	$(BIN)/ruff check coprod_kg api tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/python -m pytest

docs: install
	$(BIN)/coprod-kg check --build-docs

## Benchmark against the Oxigraph server and rdflib-endpoint (see bench/README.md).
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var build api/static/yasgui .pytest_cache .mypy_cache .ruff_cache
