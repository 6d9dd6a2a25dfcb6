"""The kernel's OOM killer, when it fires in the watched slice, kills there: never the
monitor, which is outside the slice and at oom_score_adj -1000."""

from __future__ import annotations

from helpers import (
    HOG,
    WATCHED,
    Agent,
    keep,
    kernel_oom_lines,
    main_pid,
    make_program,
    sh,
    show,
    wait_for,
)


def _events() -> dict[str, int]:
    pairs = (line.split() for line in (WATCHED / "memory.events").read_text().splitlines())
    return {k: int(v) for k, v in pairs}


def test_the_oom_killer_in_the_slice_never_picks_the_monitor(agent: Agent) -> None:
    monitor, hbd = main_pid("lostbeat-monitor.service"), main_pid("lostbeat-hbd.service")
    before = _events()
    sh("systemd-run", "--unit=hog", "--slice=lostbeat-watched.slice",
       "--description=an ordinary service that grows", *make_program("hog", HOG).split())  # fmt: skip
    hog = wait_for("hog", lambda: main_pid("hog.service"), timeout=30)
    wait_for("hog killed", lambda: show("hog.service", "ActiveState") != "active", timeout=120)
    assert show("hog.service", "Result") == "oom-kill"
    sh("systemctl", "reset-failed", "hog.service", check=False)
    assert _events()["oom_kill"] > before["oom_kill"]
    lines = wait_for(
        "the kernel's OOM lines",
        lambda: [line for line in kernel_oom_lines() if f"pid={hog}," in line
                 or f"process {hog} " in line],
        timeout=30,
    )  # fmt: skip
    keep("kernel-oom.txt", "\n".join(lines) + "\n")
    assert any(f"Killed process {hog} (hog)" in line for line in lines), lines
    every = kernel_oom_lines()  # every OOM kill since boot: none took the monitor
    assert not any(f"Killed process {monitor} " in m or f"pid={monitor}," in m for m in every)
    assert main_pid("lostbeat-monitor.service") == monitor
    assert main_pid("lostbeat-hbd.service") == hbd  # kept from the OOM killer as well
