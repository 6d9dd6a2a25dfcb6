"""How ``make test`` shares the suite between two pytest-xdist workers (``-n 2 --dist
loadgroup``), and the fuzz count that the workers hand back for the terminal summary.

A test is put in a group that one worker runs whole where it must not overlap another, or
where what it builds should be built once:

* the tests of the real agent, recorder and simulator (:data:`HOST_WIDE`), and the scans of
  the whole process table, are one group: they make real OOM kills and hung tasks, change the
  hung task timeout, write to and read ``/dev/kmsg``, and judge what the kernel log and
  ``/proc`` show while they run, so no two of them may overlap;
* a folder whose session fixtures are costly is one group (:data:`SHARED_FIXTURES`: the
  fleet's analysed fleets, the generated scenarios), so they are made once;
* a test of a module with a module-scoped fixture (the browser, a recording made in real
  time, a corpus read once) is in its module's group, so the fixture is made once.

Any other test goes to whichever worker is free, and runs niced (:data:`NICE`) while the other
worker runs the host-wide group: those tests judge real timeouts of a second or two, so a
fuzzer on the other core must give way to them, not they to it. Without xdist (``.venv/bin/pytest -q``) no
group is set and the suite runs as before.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from tests.fuzz.harness import TALLY, Failure

HERE = Path(__file__).parent
HOST_WIDE = ("agent", "faults", "recorder", "simulate", "test_procfs.py")
SHARED_FIXTURES = ("fleet", "scenarios")
NICE = 10
"""A worker's niceness for a test it starts while another runs the host-wide group (else 0)."""


def group_of(path: Path, root: Path, *, module_fixture: bool) -> str | None:
    """The xdist group of a test in ``path`` (None: any worker, test by test).

    >>> group_of(HERE / "faults/test_sigterm.py", HERE.parent, module_fixture=False)
    'host-wide'
    >>> group_of(HERE / "fleet/test_page.py", HERE.parent, module_fixture=True)
    'tests/fleet'
    >>> group_of(HERE / "report/test_chromium.py", HERE.parent, module_fixture=True)
    'tests/report/test_chromium.py'
    >>> group_of(HERE / "fuzz/test_parsers.py", HERE.parent, module_fixture=False) is None
    True
    """
    if HERE in path.parents:
        top = path.relative_to(HERE).parts[0]
        if top in HOST_WIDE:
            return "host-wide"
        if top in SHARED_FIXTURES:
            return f"tests/{top}"
    if not module_fixture:
        return None
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _uses_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:  # a doctest
        return False
    return any(
        d.scope in ("module", "class", "package") for defs in info.name2fixturedefs.values()
        for d in defs
    )  # fmt: skip


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("dist", "no") != "loadgroup":
        return
    for item in items:
        group = group_of(item.path, config.rootpath, module_fixture=_uses_module_fixture(item))
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


_HOLDING: set[Path] = set()
"""The flag this worker made (it runs the host-wide group)."""


def _host_wide_flag(config: pytest.Config) -> Path:
    """A file that stands while a worker runs the host-wide group (one per run, in /tmp)."""
    run = getattr(config, "workerinput", {}).get("testrunuid", "")
    return Path("/tmp") / f"lostbeat-host-wide-{run}"


@pytest.hookimpl(tryfirst=True)  # before the test's fixtures start anything
def pytest_runtest_setup(item: pytest.Item) -> None:
    if not hasattr(item.config, "workerinput"):  # not an xdist worker
        return
    flag = _host_wide_flag(item.config)
    if any(m.args == ("host-wide",) for m in item.iter_markers("xdist_group")):
        flag.touch()
        _HOLDING.add(flag)
        want = 0
    else:
        if flag in _HOLDING:  # this worker is done with the host-wide group
            flag.unlink(missing_ok=True)
            _HOLDING.discard(flag)
        want = NICE if flag.exists() else 0
    if os.getpriority(os.PRIO_PROCESS, 0) != want:
        with contextlib.suppress(PermissionError):  # only root may lower it again
            os.setpriority(os.PRIO_PROCESS, 0, want)


# --- the fuzz count: each worker's tally, summed by the controller ---------------------------


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is None:  # not an xdist worker
        return
    for flag in _HOLDING:
        flag.unlink(missing_ok=True)
    output["fuzz"] = {
        "inputs": dict(TALLY.inputs),
        "parsers": sorted(TALLY.parsers),
        "failures": [
            (f.target, f.kind, f.signature, f.detail, f.data if isinstance(f.data, str | bytes)
             else repr(f.data))
            for f in TALLY.failures
        ],
    }  # fmt: skip


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    tally = getattr(node, "workeroutput", {}).get("fuzz")
    if not tally:
        return
    TALLY.inputs.update(tally["inputs"])
    TALLY.parsers.update(tally["parsers"])
    TALLY.failures.extend(Failure(*fields) for fields in tally["failures"])


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if not TALLY.inputs:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fuzz")
    if config.option.verbose > 0:  # the count of each target with -v
        for target, count in sorted(TALLY.inputs.items()):
            write(f"  {target:<28} {count:>8} inputs")
    failed = sorted({f.target for f in TALLY.failures})
    write(
        f"fuzz: {TALLY.total()} inputs, {len(TALLY.parsers)} parsers, "
        f"{len(TALLY.failures)} failures" + (f" (in {', '.join(failed)})" if failed else "")
    )
    for failure in TALLY.failures:
        write("  " + failure.describe().replace("\n", "\n  "))
