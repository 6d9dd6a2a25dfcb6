"""Watching a running simulation: the group filling, the monitor's alerts, the capture.

While it waits, :class:`Watch` says when the group became full and which of its tasks
then sat in the kernel, repeats the monitor's ``Lost heartbeat`` and capture lines, and
fails the run (with the program's last words) when a program ends early or no lost
heartbeat came within the budget. :func:`pace_throttled` keeps a CPU-throttled workload
growing at the pace the analyzer needs by adjusting its CPU share.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lostbeat.agent.cgroup import CgroupVersion, member_pids
from lostbeat.errors import AgentError
from lostbeat.procfs import Procfs
from lostbeat.simulate import cgroups
from lostbeat.simulate.children import Child, Children

__all__ = ["Watch", "describe_capture", "pace_throttled", "task_states"]

MIB = 1 << 20
TICK = 0.2
_ECHO = re.compile(r"\)(HB: Lost heartbeat|Host: |Dump: Capture)")


def task_states(pids: list[int], *, proc_root: Path = Path("/proc")) -> list[tuple[str, str, str]]:
    """(comm, state, wchan) of each pid still there."""
    procfs, out = Procfs(proc_root), []
    for pid in pids:
        with contextlib.suppress(AgentError, ValueError, IndexError):
            stat = procfs.stat(pid)
            wchan = procfs.read_text(pid, "wchan").strip()
            out.append((stat.comm, stat.state, wchan if wchan not in ("", "0") else "-"))
    return out


class Watch:
    """The clock and the voice of one run: progress lines carry the seconds since ``start``."""

    def __init__(self, *, start: float, say: Callable[[str], None]) -> None:
        self.start, self.say_line = start, say
        self.phases: list[tuple[str, float]] = []
        self._echoed = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def phase(self, name: str) -> None:
        self.phases.append((name, round(self.elapsed(), 2)))

    def say(self, text: str) -> None:
        self.say_line(f"[{self.elapsed():5.1f} s] {text}")

    def _echo_monitor(self, monitor: Child) -> None:
        text = monitor.log_text()
        lines = text[: text.rfind("\n") + 1].splitlines()  # whole lines only
        for line in lines[self._echoed :]:
            if _ECHO.search(line):
                self.say(f"monitor| {line}")
        self._echoed = len(lines)

    def until_captured(
        self,
        domain: cgroups.Domain,
        children: Children,
        datastore: Path,
        *,
        budget: float,
        pace: Callable[[], None] | None = None,
        later: Sequence[tuple[float, Callable[[], None]]] = (),
    ) -> Path:
        """Wait for the monitor's finished capture; returns its folder.

        Args:
            domain: the group.
            children: the run's programs.
            datastore: the monitor's datastore.
            budget: seconds to wait at most.
            pace: called each tick until the group is full (see :func:`pace_throttled`).
            later: (monotonic time, start) of programs to start then.

        Raises:
            AgentError: a program ended, or no capture within ``budget`` seconds.
        """
        monitor = next(c for c in children.started if c.role == "monitor")
        deadline = time.monotonic() + budget
        full_at: float | None = None
        pending = sorted(later, key=lambda due: due[0])
        while True:
            while pending and pending[0][0] <= time.monotonic():
                pending.pop(0)[1]()
            cgroups.protect_members(domain)
            self._echo_monitor(monitor)
            done = sorted(datastore.glob("lost-heartbeat-*/manifest.json"))
            if done:
                self.phase("capture written")
                self.say(f"capture: {describe_capture(done[0].parent)}")
                return done[0].parent
            for child in children.exited():
                raise AgentError(
                    f"{child.log}: {child.name} ended (status {child.popen.returncode}) before "
                    f"the heartbeat was lost: {child.last_line()}"
                )
            state = domain.state()
            full = (
                state.under_oom
                if domain.version is CgroupVersion.V1
                else (state.usage_bytes is not None and state.usage_bytes >= domain.limit_bytes)
            )
            if full and full_at is None:
                full_at = self.elapsed()
                self.phase("group full")
                if domain.cpu_quota is not None:
                    # the pace was kept; now the workload competes for every page that is
                    # freed, as an unthrottled program would. Throttled to its last share, the
                    # heartbeat kept coming for 90 s after the group was full in the VM
                    # suite's guest (cgroup v2); unthrottled, for 40 s (why it gets pages at
                    # all there, stress-ng freeing its heap when a realloc() is refused or
                    # reclaim of the group's file pages, is not verified)
                    cgroups.set_cpu_share(domain, 1.0)
                time.sleep(0.5)  # let the other tasks reach their next allocation
                stuck = [
                    f"{comm} {st}" + (f" in {wchan}" if wchan != "-" else "")
                    for comm, st, wchan in task_states(member_pids(domain.memory))
                ]
                self.say(
                    f"group full: {(state.usage_bytes or 0) // MIB} of "
                    f"{domain.limit_bytes // MIB} MiB"
                    + (", under_oom 1" if state.under_oom else "")
                    + f"; tasks: {', '.join(stuck)}"
                )
            elif pace is not None and not full:
                pace()
            if time.monotonic() > deadline:
                hbd = next(c for c in children.started if c.role == "heartbeat")
                raise AgentError(
                    f"{datastore}: no lost heartbeat within {budget:g} s (group at "
                    f"{(state.usage_bytes or 0) // MIB} of {domain.limit_bytes // MIB} MiB; "
                    f"heartbeat said: {hbd.last_line()})"
                )
            time.sleep(TICK)


def describe_capture(folder: Path) -> str:
    """One line on what a capture holds, from its ``manifest.json``."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as err:
        return f"{folder}: manifest.json unreadable ({err})"
    files = [str(f.get("path", "")) for f in manifest.get("files", [])]
    parts: list[str] = [name for name in ("screen.txt", "alerts.log") if name in files]
    cgroup = [f for f in files if f.startswith("cgroup/")]
    if cgroup:
        parts.append(f"cgroup/ ({len(cgroup)} files)")
    procs = {f.split("/")[1] for f in files if f.startswith("proc/")}
    if procs:
        parts.append(f"proc/ of {len(procs)} processes")
    for core in manifest.get("cores", []):
        if core.get("path"):
            size = (core.get("size") or 0) / MIB
            parts.append(f"{core['path']} ({size:.0f} MiB, by {core.get('route')})")
    state = "complete" if manifest.get("complete") else "incomplete"
    return f"{folder}: {', '.join(parts)}; {state}"


def pace_throttled(domain: cgroups.Domain, *, rate: float, share: float) -> Callable[[], None]:
    """A step that keeps a CPU-throttled workload on the line "``rate`` bytes/s more".

    The line starts when the group first grows by 1 MiB; until then the share is doubled
    every half second, so a first guess far too low for this machine (stress-ng grows about
    fifty times slower under qemu's TCG than here) costs seconds, not the whole run. Then
    every second the CPU ``share`` is scaled (by half to double) by the growth needed to be
    back on the line two seconds later over the growth of the last second; growth is close
    to proportional to the share (stress-ng --bigheap: about 16 MiB/s at 1 % of a CPU here,
    5 MiB/s at 0.3 %).
    """
    base: int | None = None
    line: tuple[float, int] | None = None
    last: tuple[float, int] | None = None

    def step() -> None:
        nonlocal share, base, line, last
        usage = domain.state().usage_bytes
        now = time.monotonic()
        if usage is None:
            return
        if base is None:
            base, last = usage, (now, usage)
        assert last is not None
        if line is None:
            if usage - base >= MIB:
                line = last = (now, usage)
            elif now - last[0] >= 0.5:
                share = min(share * 2.0, 1.0)
                cgroups.set_cpu_share(domain, share)
                last = (now, usage)
            return
        seconds = now - last[0]
        if seconds < 1.0:
            return
        grew = (usage - last[1]) / seconds
        last = (now, usage)
        wanted = (line[1] + rate * (now + 2.0 - line[0]) - usage) / 2.0
        factor = 2.0 if grew <= 0 else min(max(wanted / grew, 0.5), 2.0)
        share = min(max(share * factor, 0.001), 1.0)
        cgroups.set_cpu_share(domain, share)

    return step
