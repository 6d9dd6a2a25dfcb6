"""This host's own evidence, for ``lostbeat analyze --this-host``: what an operator would
gather by hand after an OOM kill or a hang, read where it lies, nothing copied or written.

- The kernel log: the journal's previous boot and this one (``journalctl -k -b -1`` and
  ``-b 0``, ``-o short-iso``), where the journal holds this boot's kernel lines; else the
  ring buffer (``dmesg``). A journal without a previous boot says so and is passed over.
- ``/proc/meminfo``: the memory and swap the host has.
- sysstat's history, the newest :data:`SAR_DAYS` days: its own text reports (``sarDD`` under
  ``/var/log/sa`` or Debian's ``/var/log/sysstat``), else ``sar -A -f saDD`` of its binary
  files where ``sar`` is installed.
- lostbeat's recording, where the recorder runs (``/var/lib/lostbeat/recording``, the path
  of ``contrib/systemd``): every process's memory before the end. The monitor's captures are
  not taken: the newest may be of an older incident than the kernel log's last; give the one
  wanted as a PATH.

Each command's output is streamed into the analysis as a loose file of its kind
(:class:`CommandSource`); a command that is missing or fails is listed with its reason, and
the rest is read.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lostbeat.analyzer._collect import Collected, Consume, Progress, _Collector
from lostbeat.analyzer._command import stream_command
from lostbeat.analyzer._limits import Limits
from lostbeat.analyzer.sources import BundleSource, DirSource, FileSource
from lostbeat.errors import InputError
from lostbeat.recording.schema import MARKER_NAME

__all__ = ["SAR_DAYS", "CommandSource", "HostPaths", "this_host"]

SAR_DAYS = 2
"""Days of sysstat history read: the day of the incident and the one before."""


@dataclass(frozen=True, slots=True)
class HostPaths:
    """Where this host keeps its evidence (the defaults are a real host's)."""

    proc: Path = Path("/proc")
    sar_dirs: tuple[Path, ...] = (Path("/var/log/sa"), Path("/var/log/sysstat"))
    recording: Path = Path("/var/lib/lostbeat/recording")


class CommandSource:
    """A command's standard output, read as a loose file of ``kind``."""

    __slots__ = ("argv", "kind", "label", "limits")

    def __init__(
        self, label: str, kind: str, argv: Sequence[str], *, limits: Limits | None = None
    ) -> None:
        self.label, self.kind, self.argv = label, kind, tuple(argv)
        self.limits = limits or Limits()

    def collect(
        self, *, progress: Progress | None = None, consume: Consume | None = None
    ) -> Collected:
        """Run the command and read what it printed.

        Raises:
            InputError: the command cannot be started.
        """
        col = _Collector(self.label, self.limits, consume)
        col.set_top(None)
        col.name(self.label)
        target = col.sink(self.label, self.kind)
        if target is None:
            return col.result()
        try:
            done, error = stream_command(self.argv, target[1])
        except OSError as err:
            raise InputError(
                f"cannot run {self.argv[0]}: {err.strerror}", path=self.label
            ) from None
        if error:
            name = os.path.basename(self.argv[0])
            col.skip(self.label, f"{name} gave no {self.kind}: {error}", self.kind)
            return col.result()
        col.keep(self.label, self.kind, target[1])
        if progress is not None:
            progress(done, done)
        return col.result()


Which = Callable[[str], str | None]


def this_host(paths: HostPaths = HostPaths(), *, which: Which = shutil.which) -> list[BundleSource]:
    """The sources of this host's evidence that exist here, kernel log first."""
    found: list[BundleSource] = [*_kernel_log(which)]
    meminfo = paths.proc / "meminfo"
    if meminfo.is_file():
        found.append(FileSource(meminfo, "meminfo"))
    found.extend(_sar(paths.sar_dirs, which))
    if (paths.recording / MARKER_NAME).is_file():
        found.append(DirSource(paths.recording))
    return found


def _kernel_log(which: Which) -> list[BundleSource]:
    journalctl = which("journalctl")
    if journalctl is not None and _journal_has_kernel_lines(journalctl):
        return [
            CommandSource(
                f"journalctl -k -b {boot}",
                "host_log",
                (journalctl, "-k", "-b", boot, "-o", "short-iso", "--no-pager", "-q"),
            )
            for boot in ("-1", "0")  # the previous boot first: the verdict is on the last
        ]
    dmesg = which("dmesg")
    return [] if dmesg is None else [CommandSource("dmesg", "host_log", (dmesg,))]


def _journal_has_kernel_lines(journalctl: str) -> bool:
    """Whether the journal holds a kernel line of this boot (no journald, or a journal that
    keeps no kernel lines, leaves the ring buffer to read)."""

    class _First:
        done = False
        seen = b""

        def write(self, chunk: bytes) -> None:
            self.seen = self.seen or chunk[:1]

    first = _First()
    try:
        stream_command([journalctl, "-k", "-b", "0", "-n", "1", "-q", "--no-pager"], first)
    except OSError:
        return False
    return bool(first.seen)


def _sar(dirs: Sequence[Path], which: Which) -> list[BundleSource]:
    for folder in dirs:
        texts = _by_age(folder, "sar")
        if texts:
            return [FileSource(p, "sar") for p in texts[:SAR_DAYS]]
    sar = which("sar")
    for folder in dirs:
        binary = _by_age(folder, "sa")
        if binary and sar is not None:
            return [
                CommandSource(f"sar -A -f {p}", "sar", (sar, "-A", "-f", str(p)))
                for p in binary[:SAR_DAYS]
            ]
    return []


def _by_age(folder: Path, prefix: str) -> list[Path]:
    """The files ``<prefix>DD`` of ``folder``, newest first."""
    try:
        entries = [
            e
            for e in os.scandir(folder)
            if e.name.startswith(prefix)
            and e.name[len(prefix) :].isdigit()
            and len(e.name) == len(prefix) + 2
            and e.is_file(follow_symlinks=False)
        ]
    except OSError:
        return []
    entries.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime, reverse=True)
    return [Path(e.path) for e in entries]
