"""What each Linux incident writes agrees with its truth: the victim is the one the kill line
names, each incident has its kill, a bystander's grower really grows from one OOM report to
the next, hangs and lockups name their task and show what they waited on, journal exports
are well formed, and sosreports are real archives that ``tar`` lists."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lostbeat.scenarios import GeneratedCase, generate
from tests.scenarios.loose import files_of, text_of

KILL = r"Kill(?:ed)? process \d+,?(?: UID \d+,)? \({name}\)"
ROW = re.compile(r"\[\s*(\d+)\]\s+\d+\s+\d+\s+\d+\s+(\d+)\s.*\s(\S+)$")


def _each(cases: dict[tuple[str, int], GeneratedCase], *names: str) -> list[GeneratedCase]:
    return [case for (name, _), case in sorted(cases.items()) if name in names]


def test_the_victim_is_the_one_the_kill_line_names(
    linux_cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    for case in linux_cases.values():
        e = case.expect
        if e.victim is None or e.crash_type.value not in ("oom_kill", "cgroup_oom"):
            continue
        text = text_of(case)
        v = re.escape(e.victim)
        patterns = {
            "kernel": KILL.format(name=v),
            "earlyoom": rf"[\"']{v}[\"']|Killing process \d+ {v}$",
            "nohang": rf"[Nn]ame: {v},",
            "systemd-oomd": rf"Killed \S*/{v} due to",
            "kubelet": rf"{v}.*OOMKilled|OOMKilled[\s\S]*{v}|victim process: {v}|{v}[\s\S]*OOMKilled",
        }
        assert re.search(patterns[e.killer or ""], text, re.M), (case.truth.scenario, e)


def test_each_incident_has_its_kill_and_the_last_is_the_verdict(
    linux_cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    for case in _each(linux_cases, "linux-oom-bystander", "linux-oom-repeat"):
        e = case.expect
        text = text_of(case)
        kills = re.findall(r"Killed process \d+,?(?: UID \d+,)? \(([^)]+)\)", text)
        assert len(kills) == e.incidents and kills[-1] == e.victim


def test_a_bystanders_grower_grows_from_one_report_to_the_next(
    linux_cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    for case in _each(linux_cases, "linux-oom-bystander", "linux-oom-repeat"):
        e = case.expect
        assert e.root_cause_process and e.victim_was_grower is not None
        assert (e.victim == e.root_cause_process) is e.victim_was_grower
        text = text_of(case)
        sizes = []
        for chunk in text.split("invoked oom-killer")[1:]:
            rows = [ROW.search(ln) for ln in chunk.splitlines()]
            mine = [int(m[2]) for m in rows if m and m[3] == e.root_cause_process]
            assert mine, case.truth.scenario
            sizes.append(mine[0])
        assert sizes == sorted(sizes) and sizes[-1] > sizes[0], sizes


def test_hangs_and_lockups_name_their_task_and_what_it_waited_on(
    linux_cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    for case in linux_cases.values():
        e = case.expect
        text = text_of(case)
        v = re.escape(e.victim or "")
        if e.crash_type.value == "hung_task":
            assert re.search(rf"INFO: task {v}:\d+ blocked for more than \d+ seconds", text)
            reclaim = "try_to_free_pages" in text
            assert reclaim == (
                e.crash_class is not None and e.crash_class.value == "memory_exhaustion"
            )
            assert (e.root_cause_kind is not None) is not reclaim
        if e.crash_type.value == "soft_lockup":
            assert re.search(rf"soft lockup - CPU#\d+ stuck for \d+s! \[{v}:\d+\]", text)
            cls = e.crash_class.value if e.crash_class else None
            assert (cls == "memory_exhaustion") == (e.victim or "").startswith("kswapd")
            if cls == "driver":
                assert re.search(r"^.*RIP: .*\[\w+\]\s*$", text, re.M)
        if e.crash_type.value == "kernel_panic":
            assert "Kernel panic - not syncing" in text
            if e.crash_class is not None and e.crash_class.value == "memory_exhaustion":
                assert re.search(r"Out of memory|try_to_free_pages|kswapd", text)
        if e.crash_type.value == "none":
            assert not re.search(r"Killed process|blocked for more than|soft lockup|panic -", text)


def test_journal_json_and_export_are_well_formed(
    linux_cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    seen = set()
    for case in linux_cases.values():
        for name, data in files_of(case).items():
            lines = data.decode(errors="replace").splitlines()
            if name.endswith(".json"):
                docs = [json.loads(ln) for ln in lines]
                assert all("MESSAGE" in d and d["__REALTIME_TIMESTAMP"].isdigit() for d in docs)
                seen.add("json")
            if name.endswith(".export"):
                blocks = "\n".join(lines).split("\n\n")
                assert all("__REALTIME_TIMESTAMP=" in b and "\nMESSAGE=" in b for b in blocks if b)
                seen.add("export")
    assert seen == {"json", "export"}


def test_kernel_stamps_never_go_back_in_a_raw_dmesg(
    linux_cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    for case in linux_cases.values():
        if "dmesg" not in case.truth.forms:  # type: ignore[union-attr]
            continue
        stamps = [
            float(m[1]) for m in re.finditer(r"^\S*?\s*\[\s*(\d+\.\d{6})\]", text_of(case), re.M)
        ]
        assert stamps and stamps == sorted(stamps)


@pytest.mark.skipif(shutil.which("tar") is None, reason="no tar on this host")
def test_sosreports_are_real_archives_that_tar_lists(
    linux_cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    kinds = set()
    for case in _each(linux_cases, "linux-sosreport"):
        flag = "-tJf" if case.bundle.name.endswith(".tar.xz") else "-tzf"
        kinds.add(flag)
        listed = subprocess.run(["tar", flag, str(case.bundle)], capture_output=True, text=True,
                                check=True).stdout.split()  # fmt: skip
        top = case.bundle.name.removesuffix(".tar.xz").removesuffix(".tar.gz")
        assert all(p.startswith(top) for p in listed)
        names = {p.split("/", 1)[1] for p in listed if "/" in p}
        assert {"sos_commands/kernel/dmesg", "proc/meminfo", "sos_commands/process/ps_auxwww",
                "sos_commands/logs/journalctl_--no-pager"} <= names  # fmt: skip
        # a day of history: one or two daily reports, each dated the day its name says
        texts = {n: files_of(case)[n].decode() for n in names
                 if re.fullmatch(r"var/log/sa/sar\d\d", n)}  # fmt: skip
        dated = sorted((re.search(r"\t(\d\d)/(\d\d)/(\d{4}) \t", t).groups(), n)  # type: ignore[union-attr]
                       for n, t in texts.items())  # fmt: skip
        assert 1 <= len(dated) <= 2 and all(n.endswith(d[1]) for d, n in dated), dated
        used = [float(ln.split()[-8]) for _, n in dated for ln in texts[n].splitlines()
                if re.match(r"^\d\d:\d\d:\d\d( [AP]M)?\s+\d", ln)]  # fmt: skip
        kind = case.expect.root_cause_kind
        if kind is not None and kind.value == "leak":
            assert used[-1] > used[0] + 20, used
        elif kind is not None and kind.value == "spike":
            assert max(used) - min(used) < 10, used
    assert kinds == {"-tJf", "-tzf"}


def test_a_sosreports_ps_is_the_host_when_the_report_was_taken(tmp_path: Path) -> None:
    """After a panic's reboot every process started afresh and after an OOM kill the victim is
    gone: ps never shows the grower at its size before the incident (a table that did would
    name a culprit the incident's own evidence does not)."""
    seen = set()
    for seed in range(1, 40):
        case = generate("linux-sosreport", tmp_path / str(seed), seed=seed)
        detail = json.loads(case.truth_path.read_text())["detail"]
        ps = files_of(case)["sos_commands/process/ps_auxwww"].decode().splitlines()[1:]
        mem = [float(row.split()[3]) for row in ps]
        if detail["incident"] == "panic":
            assert max(mem) < 15, mem
        elif detail["incident"] in ("oom", "bystander"):
            pids = {int(row.split()[1]) for row in ps}
            victim = int(re.findall(r"Killed process (\d+)", text_of(case))[-1])
            assert victim not in pids
        seen.add(detail["incident"])
    assert {"panic", "oom"} <= seen


def test_a_supportconfig_is_read_as_its_host_s_evidence(tmp_path: Path) -> None:
    """Each generated supportconfig (.txz) gives its incident's verdict, read from its
    messages.txt, boot.txt, memory.txt's /proc/meminfo and sar/ files."""
    from lostbeat.analyzer.engine import analyze
    from lostbeat.analyzer.result import InputStatus

    for seed in range(6):
        case = generate("linux-supportconfig", tmp_path / str(seed), seed=seed)
        assert case.bundle.name.endswith(".txz")
        expect = json.loads(case.truth_path.read_text())["expect"]
        result = analyze([case.bundle])
        assert result.crash.type.value == expect["crash.type"], seed
        assert result.root_cause.kind.value == expect["root_cause.kind"], seed
        read = {r.path: r.kind for r in result.inputs if r.status is InputStatus.READ}
        assert {read.get("messages.txt"), read.get("memory.txt")} == {"host_log", "meminfo"}
        assert "sar" in read.values() and read.get("boot.txt") == "host_log", read
