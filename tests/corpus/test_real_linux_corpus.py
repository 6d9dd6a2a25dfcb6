"""Every real-Linux case, analysed as loose files, reaches the verdict its source states.

``tests/corpus/real-linux/``: each case's files go through ``lostbeat analyze`` whatever their
names, and every key of ``expect`` is compared with the JSON document (the scorer is
``benchmarks/real_linux.py``, which ``benchmarks/accuracy.py --real`` prints). A few expected
values rest on the source's words alone, not on anything the log shows; those cases are
expected to fail, strictly, so that a change that makes them pass is noticed; so is a case
whose form no reader takes yet.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("real_linux", ROOT / "benchmarks" / "real_linux.py")
assert _spec is not None and _spec.loader is not None
real_linux = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("real_linux", real_linux)
_spec.loader.exec_module(real_linux)

# the expected value is stated by the source only; the log the case keeps does not show it
BEYOND_THE_LOG = {
    "015-oom-allocating-task-bystanders-centos7": "the leaker WebTorrent is never in the log",
    "029-memcg-kubepods-journal-cut-code": "the victim dp_service is named only in the title",
    "071-hung-under-memory-pressure-zfs-3.14": "the memory pressure is the reporter's word; "
    "the log shows a task waiting on a ZFS queue mutex",
    "118-panic-fatal-exception-module-three-lines": "the faulty module is named only by the "
    "issue; the three lines kept name none",
}
# a form the readers do not take yet: the kernel's lines behind a relay's own prefix (a glog
# header, then the relay's tags) before each message
NOT_READ_YET = {
    "108-rcu-sched-console-under-go-log-prefix": "a VM console relayed by hyperd: glog's header "
    "and hyperd's 'SB[vm] [CNL]' tag before every kernel line",
}
CASES = real_linux.cases(real_linux.CORPUS)


def _param(case: Path) -> object:
    why = BEYOND_THE_LOG.get(case.name) or NOT_READ_YET.get(case.name)
    marks = [pytest.mark.xfail(reason=why, strict=True)] if why else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case_reaches_the_stated_verdict(case: Path) -> None:
    score = real_linux.score_case(case)
    assert score.misses == {}, score.misses


def test_at_least_the_target_share_is_entirely_right() -> None:
    scores = real_linux.score_folder(real_linux.CORPUS)
    right = sum(s.right for s in scores)
    assert len(scores) >= 101
    assert right / len(scores) >= real_linux.TARGET, [s.case for s in scores if not s.right]


def test_every_case_file_is_recognised_as_a_linux_log() -> None:
    from lostbeat.analyzer.artifacts import sniff_kind

    for case in CASES:
        for f in case.iterdir():
            if f.name != "case.json":
                assert sniff_kind(f.read_text(encoding="utf-8", errors="replace")) == "host_log", f
