"""Parsers: pure functions, text in, typed object out.

Each parser takes a file's lines and its bundle path (``parse_x(lines, *, path=...)``)
and returns a frozen record; ``Parser.takes`` says when it takes something else (the
core dump inventory reads member names, a recording its files' bytes). They read no
files and judge nothing. An empty file raises :class:`~lostbeat.errors.ArtifactMissing`;
a file of another kind raises :class:`~lostbeat.errors.ParseError` naming its first line.
Line-oriented logs keep going past a bad line and list it in ``problems``.

``PARSERS`` lists every parser once, by the artifact name that ``artifacts.py`` uses;
``looks_like`` tells a loose file's kind from its first 64 KiB. A PSOD transcription also
has vmkernel log lines, so try the entries in ``PARSERS`` order: ``psod`` comes first.

Examples:
    >>> [p.artifact for p in PARSERS][:3]
    ['capture', 'capture_manifest', 'psod']
    >>> next(p.artifact for p in PARSERS if p.looks_like and p.looks_like("MemTotal: 1 kB"))
    'meminfo'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from lostbeat.analyzer.parsers._lines import active_lines
from lostbeat.analyzer.parsers.capture import (
    looks_like_capture,
    looks_like_capture_manifest,
    parse_capture,
    parse_capture_manifest,
)
from lostbeat.analyzer.parsers.coredumps import parse_coredumps
from lostbeat.analyzer.parsers.esx_conf import looks_like_esx_conf, parse_esx_conf
from lostbeat.analyzer.parsers.host_log import looks_like_host_log, parse_host_log
from lostbeat.analyzer.parsers.ipmi_sel import looks_like_ipmi_sel, parse_ipmi_sel
from lostbeat.analyzer.parsers.meminfo import looks_like_meminfo, parse_meminfo
from lostbeat.analyzer.parsers.packages import looks_like_packages, parse_packages
from lostbeat.analyzer.parsers.processes import (
    looks_like_ps,
    looks_like_pstree,
    parse_ps,
    parse_pstree,
)
from lostbeat.analyzer.parsers.procfiles import parse_proc_file
from lostbeat.analyzer.parsers.psod import looks_like_psod, parse_psod
from lostbeat.analyzer.parsers.recordings import parse_recording
from lostbeat.analyzer.parsers.sar import looks_like_sar, parse_sar
from lostbeat.analyzer.parsers.top import looks_like_top, parse_top
from lostbeat.analyzer.parsers.version import looks_like_version, parse_version
from lostbeat.analyzer.parsers.vibs import looks_like_vibs, parse_vibs
from lostbeat.analyzer.parsers.vmkernel_log import (
    looks_like_esx_log,
    looks_like_vmkernel_log,
    parse_vmkernel_log,
)
from lostbeat.analyzer.parsers.vmksummary import looks_like_vmksummary, parse_vmksummary
from lostbeat.analyzer.parsers.vmksummary_log import (
    looks_like_vmksummary_log,
    parse_vmksummary_log,
)

__all__ = ["PARSERS", "Parser", "ParserInput", "active_lines", "parser_for"]


class ParserInput(StrEnum):
    """What a parser's first argument is."""

    LINES = "lines"  # parse(lines: Iterable[str], *, path: str): one text file
    NAMES = "names"  # parse(names: Iterable[str]): every member path of a bundle
    FILES = "files"  # parse(files: Sequence[tuple[str, bytes]], *, path: str): a folder's files


@dataclass(frozen=True, slots=True)
class Parser:
    """One registered parser."""

    artifact: str
    """The artifact name, as in ``analyzer/artifacts.py``."""
    parse: Callable[..., object]
    """Called as ``takes`` says; most take ``(lines, *, path)``."""
    doc: str
    """One line: what the parser reads and returns."""
    looks_like: Callable[[str], bool] | None = None
    """Content sniffer for loose files; None where content says nothing."""
    takes: ParserInput = ParserInput.LINES


PARSERS: tuple[Parser, ...] = (
    # the monitor's screen also says "@BlueScreen:": its sniffer must be asked before psod's
    Parser(
        "capture",
        parse_capture,
        "lostbeat monitor screen.txt -> LinuxScreen (loss time, alert, cgroup, top consumers)",
        looks_like_capture,
    ),
    Parser(
        "capture_manifest",
        parse_capture_manifest,
        "lostbeat monitor manifest.json -> CaptureManifest (what the capture was written for)",
        looks_like_capture_manifest,
    ),
    Parser(
        "psod",
        parse_psod,
        "transcribed purple screen -> PsodScreen (build, message, uptime, worlds, signals)",
        looks_like_psod,
    ),
    Parser(
        "vmksummary",
        parse_vmksummary,
        "var/log/vmksummary -> VmkSummary (hourly swap and top-3 consumers, boots, crashes)",
        looks_like_vmksummary,
    ),
    Parser(
        "vmksummary_log",
        parse_vmksummary_log,
        "ESXi var/run/log/vmksummary.log -> VmkSummary (boots, stops, hourly leaderboards)",
        looks_like_vmksummary_log,
    ),
    Parser(
        "vmkernel_log",
        parse_vmkernel_log,
        "var/log/vmkernel*, zdump logs -> VmkernelLog (HB alerts, COS errors, the panic and "
        "its backtrace, agent dumps, notable lines)",
        looks_like_vmkernel_log,
    ),
    Parser(
        "vmkernel_zdump",
        parse_vmkernel_log,
        "var/core/vmkernel-zdump.N read as text -> VmkernelLog (the log it carries: the panic)",
    ),
    Parser(
        "meminfo",
        parse_meminfo,
        "proc/meminfo -> MemInfo (Service Console RAM and swap, bytes)",
        looks_like_meminfo,
    ),
    Parser(
        "esx_conf",
        parse_esx_conf,
        "etc/vmware/esx.conf -> EsxConf (key = value entries, case-insensitive get)",
        looks_like_esx_conf,
    ),
    Parser(
        "version",
        parse_version,
        "vmware -v, etc/vmware-release, proc/vmware/version -> VersionInfo",
        looks_like_version,
    ),
    Parser(
        "ps",
        parse_ps,
        "tmp/ps.*.txt (ps -auxwww) -> ProcessTable (pid, name, command, RSS, VSZ)",
        looks_like_ps,
    ),
    Parser(
        "pstree",
        parse_pstree,
        "tmp/pstree.*.txt (pstree -ap) -> ProcessTable (pid, name, command)",
        looks_like_pstree,
    ),
    Parser(
        "top",
        parse_top,
        "tmp/top.*.txt (top -b) -> TopSnapshot (memory header, last iteration's processes)",
        looks_like_top,
    ),
    Parser(
        "ipmi_sel",
        parse_ipmi_sel,
        "esxcli hardware ipmi sel list -> IpmiSel (the management controller's event records)",
        looks_like_ipmi_sel,
    ),
    Parser(
        "vibs",
        parse_vibs,
        "commands/localcli_software-vib-get.txt, vib list -> VibList (name, version, vendor)",
        looks_like_vibs,
    ),
    Parser(
        "sar",
        parse_sar,
        "var/log/sa/sarDD, sos_commands/sar/sarDD (sar -A) -> SarLog (memory, swap, restarts)",
        looks_like_sar,
    ),
    # after the other sniffers: an ESX Service Console's logs have Linux kernel lines too
    Parser(
        "host_log",
        parse_host_log,
        "Linux dmesg, journalctl, syslog, console, earlyoom/systemd-oomd/nohang or kubectl "
        "output -> HostLog (each OOM kill, hang, lockup, stall and panic, with its report)",
        looks_like_host_log,
    ),
    # last among the sniffers: these forms are loose (a hostd line, a quoted VMkernel message)
    Parser(
        "esx_log",
        parse_vmkernel_log,
        "hostd, vpxa, shell, vobd, LogEFI logs, the Service Console's messages, quoted VMkernel "
        "messages -> VmkernelLog (agent dumps and hangs, full ramdisks, stops, the panic)",
        looks_like_esx_log,
    ),
    Parser(
        "proc_file",
        parse_proc_file,
        "proc/<pid>/cmdline and cgroup -> ProcFile (command line, systemd unit or cgroup)",
    ),
    Parser(
        "packages",
        parse_packages,
        "tmp/rpm.*.txt (rpm -qa) -> PackageList (name, version, release, vendor where known)",
        looks_like_packages,
    ),
    Parser(
        "coredumps",
        parse_coredumps,
        "bundle member names -> CoredumpInventory (VMkernel zdumps, COS cores)",
        takes=ParserInput.NAMES,
    ),
    Parser(
        "recording",
        parse_recording,
        "a lostbeat record folder's shards -> Recording (memory series per process)",
        takes=ParserInput.FILES,
    ),
)


def parser_for(text: str) -> Parser | None:
    """The first parser in ``PARSERS`` whose sniffer recognises ``text``, if any."""
    return next((p for p in PARSERS if p.looks_like is not None and p.looks_like(text)), None)
