# coprod-kg: two commands on a fresh clone, `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install serve load test lint imports typecheck doctest pytest pytest-remote \
	pytest-oxigraph pytest-virtuoso system-deps bench-deps docs bench bench-sizes clean

# What the server needs; the tests and benchmarks add the dev and bench extras.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

DEV_STAMP := $(VENV)/.installed-dev
$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(DEV_STAMP)

YASGUI := api/static/yasgui/yasgui.min.js
$(YASGUI): scripts/fetch-yasgui.sh
	bash scripts/fetch-yasgui.sh

SWAGGER := api/static/swagger-ui/swagger-ui-bundle.js
$(SWAGGER): scripts/fetch-npm-assets.sh
	bash scripts/fetch-npm-assets.sh swagger

AXE := build/npm/axe-core/axe.min.js
$(AXE): scripts/fetch-npm-assets.sh
	bash scripts/fetch-npm-assets.sh axe

install: $(STAMP) $(YASGUI) $(SWAGGER)

## Load the ontology and the curated cases into the embedded store, then serve them.
serve: install
	$(BIN)/coprod-kg load
	$(BIN)/coprod-kg serve

load: install
	$(BIN)/coprod-kg load

## Install what the tests need (Java for HermiT, Chromium for the browser tests, Virtuoso for the
## remote suite) and run them all.
test: install system-deps lint imports typecheck doctest pytest pytest-remote

system-deps:
	bash scripts/system-deps.sh

lint: install $(DEV_STAMP)
	$(BIN)/ruff check coprod_kg api tests bench

typecheck: install $(DEV_STAMP)
	$(BIN)/mypy

## The layers and the absence of import circles (contracts in .importlinter).
imports: install $(DEV_STAMP)
	$(BIN)/lint-imports

## The examples in docstrings, run as tests.
doctest: install $(DEV_STAMP)
	$(BIN)/python -m pytest -q --doctest-modules coprod_kg api

pytest: install $(DEV_STAMP) $(AXE)
	$(BIN)/python -m pytest

## The store, API and curation tests again on the remote back end, on two servers the targets
## start on loopback and stop afterwards: an Oxigraph server, then Virtuoso 7 (installed from
## the Debian packages when missing; scripts/virtuoso.sh). One server per run: the tests keep
## their stores apart through tests/remote_proxy.py.
REMOTE_TESTS := tests/test_store.py tests/test_load.py tests/test_sparql_protocol.py \
	tests/test_sparql_clients.py tests/test_linked_data.py tests/test_dumps.py \
	tests/test_curation_core.py tests/test_api_curation.py tests/test_api_validate.py \
	tests/test_remote_store.py tests/test_remote_e2e.py tests/test_composition.py \
	tests/test_answer_staleness.py
FREE_PORT = $$($(BIN)/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

pytest-remote: pytest-oxigraph pytest-virtuoso

pytest-oxigraph: install $(DEV_STAMP)
	@port=$(FREE_PORT); dir=var/oxigraph-test; rm -rf $$dir; \
	trap 'bash scripts/oxigraph-server.sh stop '$$dir' >/dev/null' EXIT; \
	bash scripts/oxigraph-server.sh start $$dir $$port && \
	start=$$(date +%s); \
	COPROD_TEST_BACKEND=remote COPROD_TEST_SPARQL_URL=http://127.0.0.1:$$port/query \
	$(BIN)/python -m pytest $(REMOTE_TESTS); rc=$$?; \
	echo "remote suite on Oxigraph: $$(( $$(date +%s) - start )) s"; exit $$rc

pytest-virtuoso: install $(DEV_STAMP)
	@bash scripts/virtuoso.sh install
	@port=$(FREE_PORT); dir=var/virtuoso-test; rm -rf $$dir; \
	trap 'bash scripts/virtuoso.sh stop '$$dir' >/dev/null' EXIT; \
	bash scripts/virtuoso.sh start $$dir $$port && \
	start=$$(date +%s); \
	COPROD_TEST_BACKEND=remote COPROD_TEST_SPARQL_URL=http://127.0.0.1:$$port/sparql \
	COPROD_TEST_SPARQL_UPDATE_URL=http://127.0.0.1:$$port/sparql \
	COPROD_TEST_GSP_URL=http://127.0.0.1:$$port/sparql-graph-crud \
	$(BIN)/python -m pytest $(REMOTE_TESTS); rc=$$?; \
	echo "remote suite on Virtuoso: $$(( $$(date +%s) - start )) s"; exit $$rc

docs: install
	$(BIN)/coprod-kg check --build-docs

## Benchmark against the Oxigraph server and rdflib-endpoint (see bench/README.md): throughput
## with wrk (installed by scripts/bench-deps.sh), the fixed cost per request and the competency
## questions over the real graph, side by side in one run (bench/results/native.md, ~8 min;
## BENCH_ARGS="--quick" for a ~3 min run). `make bench-sizes`: the query classes, load, restart
## and validation at 10k, 100k and 1M triples (bench/results/results.md, ~15 min).
bench: install $(DEV_STAMP) bench-deps
	$(BIN)/python -m bench --native $(BENCH_ARGS)

bench-sizes: install $(DEV_STAMP) bench-deps
	$(BIN)/python -m bench $(BENCH_SIZES_ARGS)

bench-deps:
	bash scripts/bench-deps.sh

clean:
	rm -rf $(VENV) var build api/static/yasgui api/static/swagger-ui .pytest_cache .mypy_cache .ruff_cache
