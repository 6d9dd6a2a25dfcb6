"""What userspace OOM killers print: earlyoom, systemd-oomd and nohang, as incidents.

Forms from docs/reference/linux-logs.md §6, each as the killer's source prints it: earlyoom's
``kill.c`` (``sending SIGTERM to process 696 uid 1001 "ipfs": badness 757, VmRSS 637 MiB``,
the 1.2 ``killing process ... with signal 15`` and the 2016 ``Killing process 'x' with
signal 15, pid: ...`` wordings) and ``meminfo.c`` (``mem avail: 165 of 31880 MiB``);
systemd-oomd's ``oomd-util.c``/``oomd-manager.c`` (``Killed PATH due to ...``, v248's
``Memory pressure for PATH is greater than ...`` whose kill shows only as the unit stopping)
and PID 1's ``UNIT: systemd-oomd killed N process(es) in this unit.``; nohang's
``process with highest badness`` / ``PID: N, name: X, badness: N`` block, killed when nohang
acts on it (``Implement a corrective action``), not when it finds nothing to do. PID 1's word
on a unit the kernel's OOM killer took a process from (``UNIT: A process of this unit has been
killed by the OOM killer.``, ``Failed with result 'oom-kill'``) is the kernel's kill of that
unit. One victim signalled again and again (earlyoom's retries, its SIGKILL escalation) is one
incident.

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
        r"(?:(?: with signal \d+)?: (?:badness|oom_score) -?\d+(?:, oom_score_adj -?\d+)?,"
        r" VmRSS (?P<mib>\d+) MiB)?"
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
_OOMD_KILLED = re.compile(r"^(?:Killed|Marked) (?P<path>/\S*)(?: (?:due to|for killing)|$)")
_OOMD_PRESSURE = re.compile(r"^Memory pressure for (?P<path>/\S*) is ")
# (the pager may cut it anywhere after the count: "killed 37 pr>")
_UNIT_KILLED = re.compile(r"^(?P<unit>[^\s:]+): systemd-oomd killed (\d+)(?: |[>…])")
_UNIT_GONE = re.compile(
    r"^(?P<unit>[^\s/:]+\.(?:scope|service|slice)): (?:Deactivated successfully|Succeeded|"
    r"Consumed |Main process exited|Failed with result)"
)
_NOHANG_PICK = re.compile(r"^\s*PID: (?P<pid>\d+), [Nn]ame: (?P<name>.+?), badness: -?\d+")
_NOHANG_CUE = re.compile(r"highest badness")
# nohang acts on its pick ("Implement a corrective action:" then "Send SIGTERM to the victim"
# or "Run the command: ..."; later releases "Implementing ..."/"Sending ..."), or drops it
# ("victim badness 12 < min_badness 20; nothing to do", "Thresholds is not exceeded now")
_NOHANG_ACT = re.compile(
    r"^\s*(?:Implement(?:ing)? a corrective action|Send(?:ing)? SIG\w+ to the victim"
    r"|Run(?:ning)? the command)"
)
_NOHANG_DROP = re.compile(r"nothing to do|(?:is|are) not exceeded now|< min_badness")
# PID 1 on a unit the kernel's OOM killer took a process of (src/core/unit.c, v243 on; a
# paste may break the line after "killed by"), and the unit's result (service.c; after
# systemd-oomd's kill too, v251 on)
_UNIT_OOM = re.compile(
    r"^(?P<unit>[^\s/:]+\.(?:service|scope|slice|socket|mount|swap)): "
    r"(?:A process of this unit has been killed by(?: the OOM killer|$)"
    r"|Failed with result 'oom-kill')"
)
PENDING_S = 10.0
"""How long after systemd-oomd's v248 pressure line a unit under it that stops was its kill."""


def _base(path: str) -> str:
    return path.rstrip("/>…").rsplit("/", 1)[-1]


def _oomd_kill(text: str, ident: str | None) -> re.Match[str] | None:
    """systemd-oomd's kill line; one that ends at the path was cut by the pager (its mark)
    or broken by a paste before "due to" (then only where the sender says it is oomd's)."""
    m = _OOMD_KILLED.match(text)
    if m is None or m.end() < len(text) or m["path"].endswith((">", "…")):
        return m
    return m if ident == "systemd-oomd" else None


def _names_cut(kill: Incident, unit: str, f: Frame) -> bool:
    """Whether PID 1's line on ``unit`` names a kill of systemd-oomd's whose own line the
    pager cut: the cut path's last piece begins the unit's name, or the path was cut before
    the unit's piece and PID 1's line follows it at once (the same second, a few lines on)."""
    if kill.killer != "systemd-oomd" or not kill.text.endswith((">", "…")):
        return False
    if unit.startswith(kill.victim or "\0"):
        return True
    whole = (kill.victim or "").endswith((".slice", ".service", ".scope"))
    soon = kill.at is None or f.at is None or f.at - kill.at <= 1.0
    return not whole and soon and f.line_no - kill.line_no <= 5


class Killers:
    """Reads frames of any sender; :meth:`finish` gives the userspace killers' incidents."""

    def __init__(self) -> None:
        self.incidents: list[Incident] = []
        self.mem_total_kb: int | None = None
        self.pending: tuple[Frame, str] | None = None  # systemd-oomd v248: (frame, path)
        self.nohang_cue = False
        self.nohang_pick: tuple[Frame, str, int] | None = None  # nohang's victim, not yet acted on
        self.nohang_acted = False
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
        if ident in (None, "systemd-oomd") and (m := _oomd_kill(text, ident)) is not None:
            self.pending = None
            self._add(f, "systemd-oomd", _base(m["path"]), None, None)
            return
        if ident in (None, "systemd-oomd") and (m := _OOMD_PRESSURE.match(text)) is not None:
            if " is greater than " in text:  # v248 logs this as it kills (systemd#19142)
                self.pending = (f, m["path"])
            return
        if ident is None or ident.startswith("systemd"):
            self._systemd(f, text)
        if ident is None or ident.startswith("nohang"):  # (nohang-desktop too)
            self._nohang(f, text)

    def _nohang(self, f: Frame, text: str) -> None:
        """nohang names its victim, then acts on it or finds nothing to do: the kill is the
        action on the last pick (or on a victim the excerpt does not name)."""
        if _NOHANG_CUE.search(text):
            self.nohang_cue, self.nohang_acted = True, False
        elif self.nohang_cue and (m := _NOHANG_PICK.match(text)) is not None:
            self.nohang_cue, self.nohang_pick = False, (f, m["name"], int(m["pid"]))
        elif _NOHANG_DROP.search(text):
            self.nohang_pick = None
        elif not self.nohang_acted and _NOHANG_ACT.match(text):
            start, name, pid = self.nohang_pick or (f, None, None)
            self.nohang_pick, self.nohang_acted = None, True
            self._add(start, "nohang", name, pid, None)

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
        if (m := _UNIT_OOM.match(text)) is not None:
            self._unit_oom(f, m["unit"])
            return
        if (m := _UNIT_KILLED.match(text)) is not None:
            unit = m["unit"]
            cut = next((n for n, i in enumerate(self.incidents) if _names_cut(i, unit, f)), None)
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

    def _unit_oom(self, f: Frame, unit: str) -> None:
        """PID 1's word that a unit lost a process to an OOM killer: the kernel's, unless
        systemd-oomd's kill of that unit is already read (its result says 'oom-kill' too)."""
        oomd = any(i.killer == "systemd-oomd" and unit.startswith(i.victim or "\0")
                   for i in self.incidents)  # fmt: skip
        last = self.incidents[-1] if self.incidents else None
        if oomd or (last is not None and (last.killer, last.victim) == ("kernel", unit)):
            return
        self._add(f, "kernel", unit, None, None)

    def finish(self) -> list[Incident]:
        """The incidents; earlyoom's "low memory!" with no kill line anywhere after it, in a log
        that shows no kill of earlyoom's, is a kill whose victim the log does not show (007)."""
        if self.nohang_pick is not None:  # the excerpt ends before nohang acted (012)
            start, name, pid = self.nohang_pick
            self.nohang_pick = None
            self._add(start, "nohang", name, pid, None)
        cue = self.earlyoom_cue
        if cue is not None and not any(i.killer == "earlyoom" for i in self.incidents):
            self._add(cue, "earlyoom", None, None, None)
        return self.incidents
