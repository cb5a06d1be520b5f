# Two commands do all set-up: `make run` and `make test` (see README).
# pyenv reads .python-version (3.12); any python3.12 on PATH works too.
PYTHON ?= $(shell command -v python3.12 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test demo lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python >= 3.12 is required (found %s); install it or set PYTHON=/path/to/python3.12" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,demo]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m experiments.run $(ARGS)

demo: $(STAMP)
	$(BIN)/python -m experiments.demo $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -n auto --maxschedchunk 1 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_default
	$(BIN)/python -m benchmarks.bench_mmc
	$(BIN)/python -m benchmarks.bench_overload
	$(BIN)/python -m benchmarks.bench_memory
	$(BIN)/python -m benchmarks.calibration
	$(BIN)/python -m benchmarks.bench_sweep

clean:
	rm -rf $(VENV) outputs multirun
