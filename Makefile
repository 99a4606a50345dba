# Two commands matter: `make report` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: report test test-slow test-all bench bench-full lint clean venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

# reinstall whenever the package metadata changes
$(STAMP): $(PY) setup.cfg pyproject.toml
	$(PY) -m pip install -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

report: $(STAMP)
	$(PY) -m rgdata.cli report --out reports --with-ising

test: $(STAMP)
	$(PY) -m pytest -m "not slow" -q

test-slow: $(STAMP)
	$(PY) -m pytest -m slow -q

test-all: $(STAMP)
	$(PY) -m pytest -q

# short runs of every benchmark; `make bench-full` runs the sizes quoted in docs/
bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b --quick"; $(PY) $$b --quick || exit 1; done

bench-full: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: $(STAMP)
	$(PY) -m ruff check rgdata tests analyses benchmarks
	$(PY) -m ruff format --check rgdata tests analyses benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
