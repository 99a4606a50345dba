# Two commands matter: `make report` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# every install (build environments included) takes the tested versions in constraints.txt
PINNED := PIP_CONSTRAINT="$(CURDIR)/constraints.txt"
# no constraints at all: the newest versions setup.cfg allows
UNPINNED := PIP_CONSTRAINT=/dev/null

.PHONY: report test test-slow test-all test-latest lock bench bench-full bench-peers lint clean venv docs

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PINNED) $(PY) -m pip install --upgrade pip

# reinstall whenever the package metadata or the pinned versions change
$(STAMP): $(PY) setup.cfg pyproject.toml constraints.txt
	$(PINNED) $(PY) -m pip install -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

report: $(STAMP)
	$(PY) -m rgdata.cli report --out reports --with-ising
	$(PY) -m rgdata.report.snapshot reports
	@if command -v chromium > /dev/null && command -v chromedriver > /dev/null; then \
		$(PY) -m tests.report.browser reports; \
	else echo "chromium/chromedriver not installed: report pages not checked in a browser"; fi

# the docs site: docs/ pages, the API reference from the docstrings, the notebooks
# (executed); warnings are errors. Output: docs/_build/html/index.html
docs: $(STAMP)
	RGDATA_DOCS_EXECUTE=cache $(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

# the fast suite runs in TEST_WORKERS processes (pytest-xdist; CI's machine has 2 cores),
# a test file per process so module fixtures (a LocalCluster, fitted models) are built once
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadfile

test: $(STAMP)
	$(PY) -m pytest -m "not slow" -q $(XDIST)

test-slow: $(STAMP)
	$(PY) -m pytest -m slow -q

test-all: $(STAMP)
	$(PY) -m pytest -q

# the fast suite against the newest versions setup.cfg allows, in a venv of its own
# (CI runs `make test`, the pinned versions)
test-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	$(UNPINNED) .venv-latest/bin/python -m pip install --upgrade pip
	$(UNPINNED) .venv-latest/bin/python -m pip install --upgrade --upgrade-strategy eager -e ".[dev]"
	.venv-latest/bin/python -m pytest -m "not slow" -q $(XDIST)

# rewrite constraints.txt from a fresh install of the newest allowed versions; run
# `make test-latest` first, and commit the new file only if that passes
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	$(UNPINNED) .venv-lock/bin/python -m pip install --upgrade pip setuptools wheel
	$(UNPINNED) .venv-lock/bin/python -m pip install ".[dev]"
	.venv-lock/bin/python .ci/lock.py .venv-lock/bin/python > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .venv-lock

# short runs of every benchmark; `make bench-full` runs the sizes quoted in docs/.
# bench_peers_prg.py prints the ratios against the peers when .venv-peers (make bench-peers)
# or $$RGDATA_PEERS_PYTHON has them, and says which it skips otherwise
bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b --quick"; $(PY) $$b --quick || exit 1; done

# the peers of docs/coarse_graining.md in a venv of their own (never imported by rgdata):
# prg_toolbox vendored in ../shared/peers (unchanged, --no-deps; its deps pinned here) and
# random-renormalization-group 0.1.1 from the registry; then the full-size comparison
PEERS_VENV := .venv-peers
PEERS_PINS := numpy==2.4.6 scipy==1.17.1 matplotlib==3.11.2 pandas==3.1.1 scikit-learn==1.9.1 \
	random-renormalization-group==0.1.1 faiss-cpu==1.15.1 networkx==3.6.1 statsmodels==0.15.0 \
	datasketch==2.0.0
$(PEERS_VENV)/.installed:
	rm -rf $(PEERS_VENV)
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install $(PEERS_PINS)
	$(PEERS_VENV)/bin/python -m pip install --no-deps -e ../shared/peers/prg_toolbox
	touch $@

bench-peers: $(STAMP) $(PEERS_VENV)/.installed
	RGDATA_PEERS_PYTHON=$(PEERS_VENV)/bin/python $(PY) benchmarks/bench_peers_prg.py

bench-full: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: $(STAMP)
	$(PY) -m ruff check rgdata tests analyses benchmarks
	$(PY) -m ruff format --check rgdata tests analyses benchmarks

clean:
	rm -rf $(VENV) .venv-latest .venv-lock $(PEERS_VENV) build dist *.egg-info .pytest_cache .ruff_cache
