# The two commands of the README: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml scripts/setup.sh tests/js/package-lock.json tools/js/package-lock.json
	PYTHON=$(PYTHON) VENV=$(VENV) sh scripts/setup.sh
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/otlp-arrow demo

test: $(STAMP)
	$(BIN)/ruff check src tests benches
	$(BIN)/ruff format --check src tests benches
	$(BIN)/mypy
	tools/js/node_modules/.bin/biome ci --error-on-warnings --config-path tools/js src/otlp_arrow/viewer/static/*.js
	$(BIN)/pytest

bench: $(STAMP)
	PYTHONPATH=. $(BIN)/python benches/bench_convert.py
	PYTHONPATH=. $(BIN)/python benches/bench_exporters.py
	PYTHONPATH=. $(BIN)/python benches/bench_receiver.py
	PYTHONPATH=. $(BIN)/python benches/bench_query.py

clean:
	rm -rf $(VENV) otlp-arrow-data .pytest_cache .mypy_cache .ruff_cache .coverage
