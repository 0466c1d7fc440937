# The two commands of the README: `make demo` (the main job) and `make test`.
# Both create .venv and install skvae into it on first use. `make docs` builds
# the documentation site into docs/_build/html (offline; any warning fails it),
# running the examples of the gallery; `make docs-noplot` builds it without
# running them (what CI does).

PYTHON ?= python3
VENV ?= .venv
# Installed before skvae so that pip keeps it instead of resolving torch from
# pyproject's range, which on Linux means the newest CUDA build (several GB).
# With a CPU wheel of 2.13.0 in pip's find-links this takes seconds; elsewhere it
# is an ordinary PyPI install. Override as needed, e.g. TORCH="torch==2.5.1"
# or TORCH_INDEX=https://download.pytorch.org/whl/cpu for a CPU-only build.
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.skvae-installed
DOCS_STAMP := $(VENV)/.skvae-docs-installed
SPHINX := $(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html

.PHONY: demo test test-slow install docs docs-noplot clean

demo: $(STAMP)
	$(BIN)/python -m skvae demo

# One pytest worker per core, each on one torch thread (more would compete for the
# cores); a file's tests stay in one worker, so its fitted fixtures are made once.
# Files go out in the order tests/conftest.py gives them: the longest first.
# Tests marked slow (a model trained with its full defaults) run in `make test-slow`,
# which CI runs too.
PYTEST := OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder

test: $(STAMP)
	$(PYTEST) -m "not slow"

test-slow: $(STAMP)
	$(PYTEST) -m slow

install: $(STAMP)

docs: $(DOCS_STAMP)
	$(SPHINX)

docs-noplot: $(DOCS_STAMP)
	SKVAE_DOCS_NOPLOT=1 $(SPHINX)

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install -e ".[docs]"
	touch $@

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || \
		$(BIN)/python -m pip install $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"
	$(BIN)/python -m pip install -e ".[test]"
	touch $@

clean:
	rm -rf $(VENV) skvae-demo docs/_build docs/api/generated docs/auto_examples
