"""The host side of ``make test-vm`` without booting: what makes the image be rebuilt, how the
guest's results disk and JUnit file are read, and which guest tests are expected."""

from __future__ import annotations

import doctest
import re
import shutil
import tarfile
from pathlib import Path

import vm_boot
import vm_image
import vm_suite

CHECKOUT = Path(__file__).resolve().parents[2]


def _copy(tmp_path: Path) -> Path:
    """The files the recipe hashes, in a folder of their own."""
    copy = tmp_path / "checkout"
    for name in ("pyproject.toml", "README.md", "docs/agent.md"):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CHECKOUT / name, copy / name)
    for name in ("lostbeat", "contrib/systemd", "scripts/vm/guest", "tests/vm/guest"):
        shutil.copytree(CHECKOUT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_the_image_is_rebuilt_when_a_wheel_input_or_the_suite_changes(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    first = vm_image.Recipe.of(copy)
    assert vm_image.Recipe.of(copy) == first  # the same inputs, the same image
    (copy / "lostbeat" / "__pycache__").mkdir(exist_ok=True)
    (copy / "lostbeat" / "__pycache__" / "x.pyc").write_bytes(b"bytecode")
    assert vm_image.Recipe.of(copy) == first  # bytecode is no input
    changed = {}
    for name in ("lostbeat/agent/journal.py", "contrib/systemd/lostbeat.slice",
                 "tests/vm/guest/test_units.py", "docs/agent.md"):  # fmt: skip
        path = copy / name
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        changed[name] = vm_image.Recipe.of(copy)
        path.write_bytes(original)
    assert all(r.image != first.image and r.root == first.root for r in changed.values())
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"rich>=13"', '"rich>=14"'))
    assert vm_image.Recipe.of(copy).root != first.root  # new dependencies: a new root


def test_junit_outcomes() -> None:
    failed, _ = doctest.testmod(vm_suite, raise_on_error=False)
    assert failed == 0
    xml = (
        '<testsuites><testsuite><testcase classname="tests.test_a" name="test_p[leak]" time="3">'
        '<skipped message="no">why</skipped></testcase>'
        '<testcase classname="tests.test_a" name="test_e"><error message="boom"/></testcase>'
        "</testsuite></testsuites>"
    )
    got = vm_suite.parse_junit(xml)
    assert [(o.nodeid, o.status) for o in got.values()] == [
        ("test_a.py::test_p[leak]", "skipped"),
        ("test_a.py::test_e", "error"),
    ]


def test_the_results_disk_is_read_as_the_guest_wrote_it(tmp_path: Path) -> None:
    disk = tmp_path / "results.raw"
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    assert vm_boot._unpack(disk, tmp_path / "none") is None  # the guest wrote nothing
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "status").write_text("0\n")
    with open(disk, "r+b") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        tar.add(tmp_path / "out", arcname=".")  # as `tar -cf /dev/vdb -C out .` does
    got = vm_boot._unpack(disk, tmp_path / "got")
    assert got is not None and (got / "status").read_text() == "0\n"


def test_every_guest_test_is_expected_by_name() -> None:
    ids = vm_suite.guest_tests(CHECKOUT / "tests" / "vm" / "guest")
    assert "test_units.py::test_systemctl_status_shows_them_active" in ids
    scenarios = [i for i in ids if i.startswith("test_simulate.py::")]
    assert [i.rsplit("[", 1)[1] for i in scenarios] == [
        "leak]",
        "spike]",
        "contention]",
        "third-party]",
    ]
    assert len(ids) == len(set(ids))


def test_the_newest_kernel_with_an_initrd_is_booted(tmp_path: Path) -> None:
    for release in ("6.1.0-9-amd64", "6.1.0-57-amd64", "6.10.0-1-amd64"):
        (tmp_path / f"vmlinuz-{release}").write_bytes(b"")
    for release in ("6.1.0-9-amd64", "6.1.0-57-amd64"):
        (tmp_path / f"initrd.img-{release}").write_bytes(b"")
    assert vm_boot.find_kernel(tmp_path).release == "6.1.0-57-amd64"  # 6.10 has no initrd


def test_every_vm_test_the_docs_name_exists() -> None:
    """docs/agent.md says which VM test covers each claim: each one it names is there."""
    ids = vm_suite.guest_tests(CHECKOUT / "tests" / "vm" / "guest")
    files = {i.split("::")[0] for i in ids}
    text = (CHECKOUT / "docs" / "agent.md").read_text()
    # a guest test is named bare or under tests/vm/guest/; tests/agent/... are the host's
    bare = r"(?:(?<=tests/vm/guest/)|(?<![\w/]))"
    named = set(re.findall(bare + r"(test_\w+\.py)(?:::(test_\w+))?", text))
    assert named, "docs/agent.md names no VM test"
    for module, test in named:
        assert module in files, module
        if test:
            assert any(i.startswith(f"{module}::{test}") for i in ids), f"{module}::{test}"
