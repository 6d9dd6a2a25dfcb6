"""A host whose own memory (sar) rose steadily to an OOM that no task table explains: a leak
whose process is unnamed, with a plan that says what to collect; noise, a short burst and an
earlier boot's rise are not one."""

from __future__ import annotations

from pathlib import Path

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.result import Action, RootCause

TOTAL = 8_000_000
PANIC = "Kernel panic - not syncing: Out of memory and no killable processes...\n"


def _sar(tmp_path: Path, rows: list[tuple[int, int | None]]) -> Path:
    """A ``sar -r`` report of 10-minute rows: (minute of the day, KB held; None: a restart)."""
    out = [
        "Linux 6.1.0 (web01) \t05/01/2024 \t_x86_64_\t(4 CPU)",
        "",
        "00:00:01 kbmemfree   kbavail kbmemused  %memused kbbuffers  kbcached",
    ]
    for minute, used in rows:
        clock = f"{minute // 60:02d}:{minute % 60:02d}:01"
        if used is None:
            out.append(f"{clock}       LINUX RESTART\t(4 CPU)")
            continue
        free = TOTAL - used
        out.append(f"{clock} {free:>9} {free + 50_000:>9} {used:>9} {100 * used / TOTAL:>9.2f}"
                   f"      4228   1482228")  # fmt: skip
    path = tmp_path / "sar01"
    path.write_text("\n".join(out) + "\n")
    (tmp_path / "console.txt").write_text(PANIC)
    return path


def _cause(
    tmp_path: Path, rows: list[tuple[int, int | None]]
) -> tuple[RootCause, tuple[Action, ...]]:
    result = analyze([_sar(tmp_path, rows), tmp_path / "console.txt"])
    return result.root_cause, result.actions


def test_a_steady_rise_to_the_oom_is_a_leak_no_process_is_named_for(tmp_path: Path) -> None:
    # 12 hours from 2.0 to 7.5 GB (in KB), with a wobble of some 30 MB either way
    rows = [(10 * i, 2_000_000 + 76_000 * i + (30_000 if i % 3 else -30_000)) for i in range(73)]
    cause, actions = _cause(tmp_path, rows)
    assert (cause.kind.value, cause.process, cause.token) == ("leak", None, None)
    assert cause.rate_kb_per_hour is not None and 440_000 < cause.rate_kb_per_hour < 470_000
    assert "rose steadily, 445 MB/h for 12 h" in cause.explanation
    assert "over 73 sar samples" in cause.explanation
    assert "no process table to name the process that grew" in cause.explanation
    assert cause.held_percent is not None and cause.held_percent > 90
    plan = " ".join(a.text for a in actions)
    assert "nothing recorded which process grew" in plan and "lostbeat record" in plan


def test_a_level_history_that_ends_full_is_no_leak(tmp_path: Path) -> None:
    rows = [(10 * i, 6_000_000 + (40_000 if i % 2 else -40_000)) for i in range(73)]
    cause, actions = _cause(tmp_path, rows)
    assert cause.kind.value == "contention"
    assert not any("nothing recorded" in a.text for a in actions)


def test_a_rise_of_the_last_hour_alone_is_not_sustained(tmp_path: Path) -> None:
    # flat for 11 hours, then six samples climbing: a burst, not a leak
    rows = [(10 * i, 2_000_000) for i in range(66)]
    rows += [(660 + 10 * i, 2_000_000 + 900_000 * i) for i in range(1, 7)]
    cause, _ = _cause(tmp_path, rows)
    assert cause.kind.value != "leak"


def test_only_the_boot_that_crashed_is_judged(tmp_path: Path) -> None:
    # the boot before the restart rose for 10 hours; the crashed one was level
    rows: list[tuple[int, int | None]] = [(10 * i, 2_000_000 + 80_000 * i) for i in range(61)]
    rows.append((605, None))
    rows += [(610 + 10 * i, 2_100_000 + 60_000 * i) for i in range(4)]
    cause, _ = _cause(tmp_path, rows)
    assert cause.kind.value != "leak"
    rows[-4:] = [(610 + 10 * i, 2_000_000 + 60_000 * i) for i in range(73)]
    cause, _ = _cause(tmp_path, rows)  # the same rise in the crashed boot is one
    assert (cause.kind.value, cause.process) == ("leak", None)
