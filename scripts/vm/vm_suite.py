"""The VM suite from the host: build the image, boot it, read each test's outcome.

Used by ``scripts/vm/run`` (by hand) and by ``tests/vm/test_guest.py`` (``make test-vm``).
The guest writes pytest's JUnit XML onto its results disk; each test case becomes one
:class:`Outcome`, named as the guest's pytest names it (``test_units.py::test_x``).
"""

from __future__ import annotations

import ast
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import vm_boot as qemu
import vm_image as image

DEFAULT_TIMEOUT = 600.0
"""Seconds from qemu's start to the guest's power-off, at most ($LOSTBEAT_VM_TIMEOUT)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One guest test: ``passed``, ``failed``, ``error`` or ``skipped``, and what it said."""

    nodeid: str
    status: str
    text: str = ""
    seconds: float = 0.0


@dataclass(slots=True)
class SuiteRun:
    """Everything one ``make test-vm`` learnt."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    problem: str | None = None
    """Why the guest gave no (or not all) results: a build error, a timeout, a crash."""
    seconds: dict[str, float] = field(default_factory=dict)
    """build steps (root, image; absent when cached), boot, suite, qemu, total."""
    results: Path | None = None
    serial_tail: str = ""


def parse_junit(text: str) -> dict[str, Outcome]:
    """Outcomes by node id from pytest's JUnit XML.

    >>> xml = ('<testsuites><testsuite><testcase classname="tests.test_a" name="test_one"'
    ...        ' time="1.5"/><testcase classname="tests.test_a" name="test_two" time="2">'
    ...        '<failure message="boom">trace</failure></testcase></testsuite></testsuites>')
    >>> [(o.nodeid, o.status, o.text) for o in parse_junit(xml).values()]
    [('test_a.py::test_one', 'passed', ''), ('test_a.py::test_two', 'failed', 'boom\\ntrace')]
    """
    out: dict[str, Outcome] = {}
    for case in ET.fromstring(text).iter("testcase"):
        # the guest runs `pytest tests`: classname is "tests.test_a" for tests/test_a.py
        module = case.get("classname", "").removeprefix("tests.").replace(".", "/")
        nodeid = f"{module}.py::{case.get('name', '')}"
        status, said = "passed", ""
        for kind in ("failure", "error", "skipped"):
            found = case.find(kind)
            if found is not None:
                status = "failed" if kind == "failure" else kind
                said = "\n".join(p for p in (found.get("message", ""), found.text or "") if p)
                break
        out[nodeid] = Outcome(nodeid, status, said, float(case.get("time", "0") or 0))
    return out


def guest_tests(folder: Path) -> list[str]:
    """The node ids the guest's pytest gives its tests (``test_x.py::test_y[param]``)."""
    ids = []
    for path in sorted(folder.glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            params: list[str] = []
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and ast.unparse(deco.func).endswith("parametrize"):
                    params = [str(v) for v in ast.literal_eval(deco.args[1])]
            base = f"{path.name}::{node.name}"
            ids += [f"{base}[{p}]" for p in params] if params else [base]
    return ids


def run_suite(
    *,
    results: Path,
    script: Path | None = None,
    say: Callable[[str], None] = print,
    on_line: Callable[[float, str], None] = lambda t, line: None,
) -> SuiteRun:
    """Build (or take from the cache) the image, boot it, collect the outcomes."""
    run = SuiteRun()
    started = time.monotonic()
    try:
        built = image.build(say=say)
    except image.BuildError as err:
        run.problem = f"building the image: {err}"
        return run
    run.seconds.update(built.seconds)
    try:
        kernel = qemu.small_initrd(qemu.find_kernel(), image.cache_root())
        accel = qemu.accelerator(kernel, image.cache_root())
        timeout = float(os.environ.get("LOSTBEAT_VM_TIMEOUT", DEFAULT_TIMEOUT))
        say(f"booting {built.image.name} with {kernel.release} under {accel} "
            f"(at most {timeout:g} s)")  # fmt: skip
        booted = qemu.boot(built.image, kernel=kernel, accel=accel, timeout=timeout,
                           results=results, script=script, on_line=on_line)  # fmt: skip
    except qemu.BootError as err:
        run.problem = str(err)
        return run
    run.results, run.serial_tail = booted.results, booted.tail()
    up = booted.said("lostbeat-vm: guest up")
    finished = booted.said("lostbeat-vm: finished")
    if up is not None:
        run.seconds["boot"] = up
        if finished is not None:
            run.seconds["suite"] = round(finished - up, 1)
    run.seconds["qemu"] = booted.seconds
    run.seconds["total"] = round(time.monotonic() - started, 1)
    if booted.timed_out:
        run.problem = f"the guest did not power off within {timeout:g} s: qemu was killed"
    elif booted.results is None:
        run.problem = f"the guest wrote no results (qemu exit status {booted.exit_status})"
    junit = results / "junit.xml"
    if junit.is_file():
        run.outcomes = parse_junit(junit.read_text())
    elif script is None and run.problem is None:
        run.problem = "the guest wrote no junit.xml (pytest did not run to its end)"
    return run
