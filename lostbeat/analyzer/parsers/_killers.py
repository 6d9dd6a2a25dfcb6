"""What userspace OOM killers print: earlyoom, systemd-oomd and nohang, as incidents.

Forms from docs/reference/linux-logs.md §6, each as the killer's source prints it: earlyoom's
``kill.c`` (``sending SIGTERM to process 696 uid 1001 "ipfs": badness 757, VmRSS 637 MiB``,
the 1.2 ``killing process ... with signal 15`` and the 2016 ``Killing process 'x' with
signal 15, pid: ...`` wordings) and ``meminfo.c`` (``mem avail: 165 of 31880 MiB``);
systemd-oomd's ``oomd-util.c``/``oomd-manager.c`` (``Killed PATH due to ...``, v248's
``Memory pressure for PATH is greater than ...`` whose kill shows only as the unit stopping)
and PID 1's ``UNIT: systemd-oomd killed N process(es) in this unit.``; nohang's
``process with highest badness`` / ``PID: N, name: X, badness: N`` block. One victim signalled
again and again (earlyoom's retries, its SIGKILL escalation) is one incident.

Examples:
    >>> from lostbeat.analyzer.parsers._frames import frame
    >>> k = Killers()
    >>> k.feed(frame('Jun 12 06:39:16: mem avail:    19 of   950 MiB ( 2.10%), swap free: 1', 1))
    >>> k.feed(frame('Jun 12 06:39:16: sending SIGTERM to process 696 uid 1001 "ipfs": '
    ...              'badness 757, VmRSS 637 MiB', 2))
    >>> [(i.killer, i.victim, i.victim_kb, i.mem_total_kb) for i in k.finish()]
    [('earlyoom', 'ipfs', 652288, 972800)]
"""

from __future__ import annotations

import re
from dataclasses import replace

from lostbeat.analyzer.parsers._frames import Frame
from lostbeat.analyzer.parsers._kernel_report import Incident
from lostbeat.analyzer.result import CrashType

__all__ = ["Killers"]

_EARLYOOM = (
    # 1.2 and later: "sending SIGTERM to process N [uid N] "name": badness N, VmRSS N MiB"
    re.compile(
        r"(?:killing|sending SIG\w+ to) process (?P<pid>\d+) (?:uid \d+ )?\"(?P<name>.*?)\""
        r"(?:(?: with signal \d+)?: (?:badness|oom_score) -?\d+, VmRSS (?P<mib>\d+) MiB)?"
    ),
    # 2017-2018: "Killing process 'bash' with signal 15, pid: 5874, badness: 538, VmRSS: 3160 MiB"
    re.compile(
        r"^Killing process '(?P<name>.*?)' with signal \d+, pid: (?P<pid>\d+)"
        r"(?:, badness: -?\d+, VmRSS: (?P<mib>\d+) MiB)?"
    ),
    # 2016: "Killing process 106631 kworker/27:0-events"
    re.compile(r"^Killing process (?P<pid>\d+) (?P<name>\S.*)$"),
)
_CUE = re.compile(
    r"^(?:low memory! at or below SIG\w+ limits|Out of memory! avail|Low Memory! At or below)"
)
_MEM = re.compile(r"^mem (?:avail: +\d+ of|total:) +(\d+) MiB")
# a line cut by journalctl's pager ends in ">" or "…": its path is cut too (PID 1's line on
# the unit, when there is one, gives the whole name)
_OOMD_KILLED = re.compile(
    r"^(?:Killed|Marked) (?P<path>/\S*)(?: (?:due to|for killing)|(?<=[>…])$)"
)
_OOMD_PRESSURE = re.compile(r"^Memory pressure for (?P<path>/\S*) is ")
_UNIT_KILLED = re.compile(r"^(?P<unit>[^\s:]+): systemd-oomd killed (\d+)(?: proc|[>…])")
_UNIT_GONE = re.compile(
    r"^(?P<unit>[^\s/:]+\.(?:scope|service|slice)): (?:Deactivated successfully|Succeeded|"
    r"Consumed |Main process exited|Failed with result)"
)
_NOHANG_PICK = re.compile(r"^\s*PID: (?P<pid>\d+), [Nn]ame: (?P<name>.+?), badness: -?\d+")
_NOHANG_CUE = re.compile(r"highest badness")
PENDING_S = 10.0
"""How long after systemd-oomd's v248 pressure line a unit under it that stops was its kill."""


def _base(path: str) -> str:
    return path.rstrip("/>…").rsplit("/", 1)[-1]


class Killers:
    """Reads frames of any sender; :meth:`finish` gives the userspace killers' incidents."""

    def __init__(self) -> None:
        self.incidents: list[Incident] = []
        self.mem_total_kb: int | None = None
        self.pending: tuple[Frame, str] | None = None  # systemd-oomd v248: (frame, path)
        self.nohang_cue = False
        self.earlyoom_cue: Frame | None = None  # "low memory!": earlyoom is about to kill

    def _add(
        self, f: Frame, killer: str, victim: str | None, pid: int | None, kb: int | None
    ) -> None:
        last = self.incidents[-1] if self.incidents else None
        if last is not None and last.killer == killer and (last.pid, last.victim) == (pid, victim):
            if kb is not None:
                self.incidents[-1] = replace(last, victim_kb=kb)  # the same victim, again
            return
        kind = CrashType.OOM_KILL
        self.incidents.append(
            Incident(
                kind,
                f.line_no,
                f.text,
                killer,
                victim,
                pid,
                kb,
                f.at,
                f.clock,
                f.mono,
                mem_total_kb=self.mem_total_kb,
                memory=True,
                lines=((f.line_no, f.text),),
            )  # fmt: skip
        )

    def feed(self, f: Frame) -> None:
        text, ident = f.text, f.ident
        if ident in (None, "earlyoom"):
            self._earlyoom(f, text)
        if ident in (None, "systemd-oomd") and (m := _OOMD_KILLED.match(text)) is not None:
            self.pending = None
            self._add(f, "systemd-oomd", _base(m["path"]), None, None)
            return
        if ident in (None, "systemd-oomd") and (m := _OOMD_PRESSURE.match(text)) is not None:
            if " is greater than " in text:  # v248 logs this as it kills (systemd#19142)
                self.pending = (f, m["path"])
            return
        if ident is None or ident.startswith("systemd"):
            self._systemd(f, text)
        if ident in (None, "nohang"):
            if _NOHANG_CUE.search(text):
                self.nohang_cue = True
            elif self.nohang_cue and (m := _NOHANG_PICK.match(text)) is not None:
                self.nohang_cue = False
                self._add(f, "nohang", m["name"], int(m["pid"]), None)

    def _earlyoom(self, f: Frame, text: str) -> None:
        if (m := _MEM.match(text)) is not None:
            self.mem_total_kb = int(m[1]) * 1024
            return
        if _CUE.match(text):
            self.earlyoom_cue = f
            return
        for form in _EARLYOOM:
            if (m := form.search(text)) is not None:
                mib = m.groupdict().get("mib")
                self.earlyoom_cue = None
                self._add(f, "earlyoom", m["name"], int(m["pid"]), int(mib) * 1024 if mib else None)
                return

    def _systemd(self, f: Frame, text: str) -> None:
        if (m := _UNIT_KILLED.match(text)) is not None:
            unit = m["unit"]
            cut = next((n for n, i in enumerate(self.incidents) if i.killer == "systemd-oomd"
                        and i.text.endswith((">", "…")) and unit.startswith(i.victim or "\0")),
                       None)  # fmt: skip
            if cut is not None:  # the kill's own line was cut by the pager: the unit named whole
                self.incidents[cut] = replace(self.incidents[cut], victim=unit)
            elif not any(i.killer == "systemd-oomd" and i.victim == unit for i in self.incidents):
                self._add(f, "systemd-oomd", unit, None, None)
            self.pending = None
            return
        if self.pending is not None and (m := _UNIT_GONE.match(text)) is not None:
            start, _ = self.pending
            near = start.at is None or f.at is None or f.at - start.at <= PENDING_S
            if near and f.line_no - start.line_no <= 50:
                self.pending = None
                self._add(start, "systemd-oomd", m["unit"], None, None)

    def finish(self) -> list[Incident]:
        """The incidents; earlyoom's "low memory!" with no kill line anywhere after it, in a log
        that shows no kill of earlyoom's, is a kill whose victim the log does not show (007)."""
        cue = self.earlyoom_cue
        if cue is not None and not any(i.killer == "earlyoom" for i in self.incidents):
            self._add(cue, "earlyoom", None, None, None)
        return self.incidents
