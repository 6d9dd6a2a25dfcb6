"""The agent's kernel-event matcher on the real corpus's lines, and the one table of line forms
it shares with the analyzer's report scanner (:mod:`lostbeat.kernel_forms`): every form the
analyzer knows, the matcher knows, and a kind added to one side only fails here."""

from __future__ import annotations

import re
import subprocess
import sys
from types import ModuleType

import pytest

from lostbeat.agent import kevents
from lostbeat.agent.kevents import EMITTED, HELD, Kind, Matcher, match
from lostbeat.analyzer.parsers import _kernel_events, _kernel_report
from lostbeat.analyzer.parsers._frames import frame
from lostbeat.analyzer.parsers._kernel_report import Scanner
from lostbeat.analyzer.result import CrashType
from lostbeat.kernel_forms import FORMS, headline
from tests.kernel_lines import DOCUMENTED, REAL, Headline, kernel_texts, text_of

_OOM = {CrashType.OOM_KILL, CrashType.CGROUP_OOM}
# the incident types the analyzer makes of a report each kind opens
TYPES = {
    Kind.PANIC: {CrashType.KERNEL_PANIC},
    Kind.OOM_INVOKED: _OOM,
    Kind.OOM_SELECT: _OOM,
    Kind.OOM_KILL: _OOM,
    Kind.OOM_NO_VICTIM: _OOM,
    Kind.OOM_CONTEXT: _OOM,
    Kind.HUNG_TASK: {CrashType.HUNG_TASK},
    Kind.SOFT_LOCKUP: {CrashType.SOFT_LOCKUP},
    Kind.HARD_LOCKUP: {CrashType.HARD_LOCKUP},
    Kind.RCU_STALL: {CrashType.RCU_STALL},
}
KIND = {form.name: form.kind for form in FORMS}


def _id(h: Headline) -> str:
    return f"{h.case}-{h.form}-{h.pid or h.piece[:24]}"


@pytest.mark.parametrize("h", REAL, ids=_id)
def test_the_matcher_knows_each_real_headline(h: Headline) -> None:
    text = text_of(h)
    hit = headline(text)
    assert hit is not None and hit.form.name == h.form, text
    event = match(text)
    assert event is not None
    assert (event.kind, event.pid, event.comm) == (KIND[h.form], h.pid, h.comm)


@pytest.mark.parametrize("h", REAL, ids=_id)
def test_the_analyzer_reads_each_real_headline_into_its_incident(h: Headline) -> None:
    scanner = Scanner()
    f = frame(text_of(h), 1)
    assert f is not None
    scanner.feed(f)
    (incident,) = scanner.finish()
    assert incident.type in TYPES[KIND[h.form]]
    if h.comm is not None and KIND[h.form] is not Kind.OOM_INVOKED:
        assert (incident.victim, incident.pid) == (h.comm, h.pid)


@pytest.mark.parametrize(("text", "form"), DOCUMENTED.items())
def test_a_form_no_case_shows_is_known_to_both_as_documented(text: str, form: str) -> None:
    event = match(text)
    assert event is not None and event.kind is KIND[form]
    f = frame(text, 1)
    assert f is not None
    scanner = Scanner()
    scanner.feed(f)
    assert [i.type for i in scanner.finish()] == [*TYPES[KIND[form]]]


def test_every_form_of_the_table_has_a_real_line() -> None:
    shown = {h.form for h in REAL} | set(DOCUMENTED.values())
    assert shown == {form.name for form in FORMS}


def test_each_kind_is_read_by_both_sides() -> None:
    """A kind of the table that one side does not read, or that one side reads outside the
    table, fails here: the agent holds it or gives it, the analyzer has a reader for it."""
    kinds = {form.kind for form in FORMS}
    assert kinds == set(Kind)
    assert kinds == HELD | EMITTED and not HELD & EMITTED
    assert set(_kernel_report._READ) == kinds
    assert set(TYPES) == kinds


# patterns that read a field of a headline (the OOM scores), not the headline itself
FIELD_READERS = {"_ADJ", "_VICTIM_ADJ"}


@pytest.mark.parametrize(
    "module", [kevents, _kernel_report, _kernel_events], ids=lambda m: m.__name__
)
def test_neither_side_keeps_a_headline_pattern_of_its_own(module: ModuleType) -> None:
    texts = [text_of(h) for h in REAL] + list(DOCUMENTED)
    own = {
        name
        for name, value in vars(module).items()
        if isinstance(value, re.Pattern) and any(value.search(t) for t in texts)
    }
    assert own <= FIELD_READERS


def _events(case: str) -> list[kevents.KernelEvent]:
    matcher = Matcher()
    return [e for t in kernel_texts(case) if (e := matcher.feed(t)) is not None]


def test_a_selection_and_its_kill_are_one_event_in_each_generation() -> None:
    # 2.6.32 (RHEL 6): "Kill process N (x) score S or sacrifice child", "Killed process N, UID U,"
    (kill,) = _events("019")
    assert (kill.kind, kill.pid, kill.comm, kill.rss_kb) == (
        Kind.OOM_KILL, 3080, "forward", 1130444 + 136
    )  # fmt: skip
    assert not kill.memcg_oom
    # 3.10: three reports of oom_kill_allocating_task, each "Killed process N (x), UID U,"
    assert [(e.kind, e.comm) for e in _events("015")] == [
        (Kind.OOM_KILL, "mysqld"), (Kind.OOM_KILL, "rsyslogd"), (Kind.OOM_KILL, "bash")
    ]  # fmt: skip
    # a memory cgroup's selection gives its kill the constraint; here thread and process differ
    kills = _events("025")
    assert len(kills) == 4 and all(e.memcg_oom for e in kills)
    assert {e.constraint for e in kills} == {"CONSTRAINT_MEMCG"}
    assert kills[0].pid == 42453 and kills[0].rss_kb == 96 + 164


def test_a_kill_gets_the_constraint_and_cgroup_of_its_summary_line() -> None:
    (kill,) = _events("021")
    assert (kill.pid, kill.constraint, kill.memcg) == (
        1811, "CONSTRAINT_NONE", "/user.slice/user-1000.slice/session-1.scope"
    )  # fmt: skip
    assert not kill.memcg_oom


def test_nothing_to_kill_then_the_panic() -> None:
    assert [e.kind for e in _events("067")] == [Kind.OOM_NO_VICTIM, Kind.PANIC]
    # a memory cgroup's: no panic follows
    assert [e.kind for e in _events("031")] == [Kind.OOM_NO_VICTIM]


def test_old_and_expedited_rcu_stalls_are_stalls() -> None:
    stalls = _events("058")  # about 3.0: rcu_sched_state, one line per CPU
    assert len(stalls) == 11 and {e.kind for e in stalls} == {Kind.RCU_STALL}
    assert all(e.hang for e in stalls)
    assert [e.kind for e in _events("062")] == [Kind.RCU_STALL]


def test_a_report_cut_before_its_kill_gives_no_kill() -> None:
    # 4.15: the report's "invoked oom-killer" and its task table, the kill line not kept
    matched = [e.kind for t in kernel_texts("028") if (e := match(t)) is not None]
    assert matched == [Kind.OOM_INVOKED]
    assert _events("028") == []


def test_importing_the_matcher_takes_only_the_standard_library() -> None:
    code = (
        "import sys; before = set(sys.modules); import lostbeat.agent.kevents; "
        "print(' '.join(sorted(m.split('.')[0] for m in set(sys.modules) - before)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    roots = set(done.stdout.split())
    assert "lostbeat" in roots
    assert roots - {"lostbeat"} <= set(sys.stdlib_module_names)
