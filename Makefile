# lostbeat: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check system venv benchmarks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[fleet,dev]'
	touch $(STAMP)

venv: $(STAMP)

system:
	scripts/setup-system

demo: $(STAMP)
	$(BIN)/lostbeat demo

check: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH scripts/check

test: $(STAMP) system check
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest -q $(PYTEST_ARGS)

benchmarks: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH scripts/benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
