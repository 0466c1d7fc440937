# The two commands of the README: `make demo` (the main job) and `make test`.
# Both create .venv and install skvae into it on first use.

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

.PHONY: demo test install clean

demo: $(STAMP)
	$(BIN)/python -m skvae demo

test: $(STAMP)
	$(BIN)/python -m pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || \
		$(BIN)/python -m pip install $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"
	$(BIN)/python -m pip install -e ".[test]"
	touch $@

clean:
	rm -rf $(VENV) skvae-demo
