# The two commands of the README: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean native

$(STAMP): pyproject.toml scripts/setup.sh scripts/fetch-jars.sh tests/js/package-lock.json tools/js/package-lock.json
	PYTHON=$(PYTHON) VENV=$(VENV) sh scripts/setup.sh
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/otlp-arrow demo

# The native core (native/, Rust): `pip install -e .` builds it; this rebuilds it in place after
# an edit (incremental), as setuptools-rust does: release mode, the `python` feature.
native: $(STAMP)
	cargo build --quiet --release --features python --manifest-path native/Cargo.toml
	@# a new file renamed over the old one: a process that loaded the old one keeps it intact
	cp native/target/release/libotlp_arrow_native.so src/otlp_arrow/_native.abi3.so.tmp
	mv -f src/otlp_arrow/_native.abi3.so.tmp src/otlp_arrow/_native.abi3.so

test: native
	cd native && cargo fmt --check
	cd native && cargo clippy --quiet --all-targets --all-features -- -D warnings
	cd native && cargo test --quiet
	$(BIN)/ruff check src tests benches
	$(BIN)/ruff format --check src tests benches
	$(BIN)/mypy
	tools/js/node_modules/.bin/biome ci --error-on-warnings --config-path tools/js src/otlp_arrow/viewer/static/*.js
	# two test processes (pytest-xdist): the suite waits on servers and subprocesses a lot
	$(BIN)/pytest -n 2
	# the conversion and receiver tests once more on the Python fallback (the specification)
	OTLP_ARROW_NATIVE=0 $(BIN)/pytest -n 2 -q -p no:cacheprovider --no-cov tests/convert tests/receivers \
		--ignore=tests/convert/test_native.py

bench: native
	PYTHONPATH=. $(BIN)/python benches/bench_convert.py
	PYTHONPATH=. $(BIN)/python benches/bench_native.py
	PYTHONPATH=. $(BIN)/python benches/bench_exporters.py
	PYTHONPATH=. $(BIN)/python benches/bench_receiver.py
	PYTHONPATH=. $(BIN)/python benches/bench_query.py
	PYTHONPATH=. $(BIN)/python benches/bench_storage.py
	@# the server end to end, against an OpenTelemetry Collector built here (needs Go)
	PYTHONPATH=. $(BIN)/python benches/bench_serve.py --collector "$$(sh scripts/build-collector.sh)"

clean:
	rm -rf $(VENV) native/target src/otlp_arrow/_native*.so otlp-arrow-data .pytest_cache .mypy_cache .ruff_cache .coverage
