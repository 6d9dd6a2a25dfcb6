# lostbeat: the two set-up commands are `make demo` and `make test`; `make test` ends with
# `make test-vm`, which boots a systemd guest for the agent's VM suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-vm check system system-vm venv benchmarks clean

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

# the main suite on two pytest-xdist workers (tests/conftest.py keeps apart the tests that must
# not overlap), while the VM image is built beside it; then the VM stage (scripts/vm-stage:
# `make test-vm` where the host can boot it). PYTEST_JOBS= runs the suite in one process.
PYTEST_JOBS ?= -n 2 --dist loadgroup
test: $(STAMP) system check
	@log=$$(mktemp); PATH=$(abspath $(BIN)):$$PATH scripts/vm-stage --build-only >$$log 2>&1 & \
	build=$$!; \
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest -q $(PYTEST_JOBS) $(PYTEST_ARGS); \
	status=$$?; wait $$build; cat $$log; rm -f $$log; exit $$status
	scripts/vm-stage

system-vm:
	scripts/setup-system --vm

# the agent under systemd with cgroup v2, in a Debian 12 guest under qemu (docs/agent.md);
# the image is built once into ~/.cache/lostbeat/vm and rebuilt when its recipe changes
test-vm: $(STAMP) system-vm
	LOSTBEAT_TEST_VM=1 PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest -q -p no:cacheprovider tests/vm $(PYTEST_ARGS)

benchmarks: $(STAMP)
	PATH=$(abspath $(BIN)):$$PATH scripts/benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
