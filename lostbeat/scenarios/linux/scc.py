"""SUSE's supportconfig (``scc_<host>_<yymmdd>_<hhmm>/``, packed as ``.txz``): one text file
per subject, each a run of entries (a ``#==[ ... ]==#`` header, a ``# <file or command>``
label, the text), as openSUSE/supportutils' ``bin/supportconfig`` writes them
(docs/reference/linux-logs.md §8): ``messages.txt`` (``/var/log/messages``, or the journal in
``short-iso`` where there is no syslog file, as on SLES 15), ``boot.txt`` (each boot's
journal, then ``dmesg -T``), ``memory.txt`` (``vmstat``, ``free -k``, ``/proc/meminfo``,
``/proc/vmstat``), ``basic-environment.txt`` and ``sar/`` (sysstat's files of the newest days,
text and binary, as they are).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from lostbeat.scenarios.linux.frame import Msg, render
from lostbeat.scenarios.linux.host import Host
from lostbeat.scenarios.linux.sos import meminfo_text, sar_files, sar_memory

__all__ = ["supportconfig_files"]

COMMAND = "#==[ Command ]======================================#"
CONF = "#==[ Configuration File ]===========================#"
LOG = "#==[ Log File ]=====================================#"


def _entry(header: str, label: str, lines: Sequence[str]) -> str:
    return "\n".join((header, f"# {label}", *lines, "", ""))


def supportconfig_files(
    rng: random.Random,
    h: Host,
    msgs: list[Msg],
    *,
    collected: float,
    shape: str,
    rebooted: bool,
) -> tuple[str, dict[str, bytes]]:
    """(top folder, files) of a supportconfig taken ``collected`` seconds into the host's
    boot, after the incident in ``msgs``; when the incident ``rebooted`` the host, ``dmesg -T``
    is the new boot's and the incident is in the previous boot's journal."""
    when = dt.datetime.fromtimestamp(h.boot + collected, dt.UTC)
    top = f"scc_{h.name}_{when:%y%m%d_%H%M}"
    boot_msgs = [Msg(0.5 + i * 0.01, t) for i, t in enumerate((
        f"Linux version {h.kernel.release} (geeko@buildhost) (gcc (SUSE Linux) 7.5.0) #1 SMP",
        f"Command line: BOOT_IMAGE=/boot/vmlinuz-{h.kernel.release} root=/dev/sda2 splash=silent",
    ))]  # fmt: skip
    everything = boot_msgs + msgs
    files: dict[str, bytes] = {}
    if rng.random() < 0.5:  # rsyslog writes /var/log/messages
        text = _entry(
            COMMAND, "/bin/rpm -qf /var/log/messages", ["rsyslog-8.2106.0-150400.5.11.1.x86_64"]
        )
        text += _entry(LOG, "/var/log/messages - Last 2500 Lines",
                       render(everything, h, "syslog-messages", rng)[-2500:])  # fmt: skip
    else:  # SLES 15: the journal only
        text = _entry(COMMAND, "/usr/bin/journalctl --no-pager --output=short-iso --lines 500000",
                      render(everything, h, "journal-short-iso", rng))  # fmt: skip
    files["messages.txt"] = text.encode()
    boots = [render(everything, h, "journal-short-iso", rng)]
    if rebooted:
        boots.append(render(boot_msgs, h, "journal-short-iso", rng))
    ids = [f"{-i} {rng.getrandbits(128):032x} boot" for i in range(len(boots) - 1, -1, -1)]
    boot = _entry(COMMAND, "/usr/bin/journalctl --no-pager --list-boot", ids)
    for i, lines in enumerate(boots):
        label = f"/usr/bin/journalctl --no-pager --boot={i - len(boots) + 1} --output=short-iso"
        boot += _entry(COMMAND, label, lines)
    boot += _entry(COMMAND, "/bin/dmesg -T",
                   render(boot_msgs if rebooted else everything, h, "dmesg-T", rng))  # fmt: skip
    files["boot.txt"] = boot.encode()
    total = h.ram_mb * 1024
    files["memory.txt"] = (
        _entry(
            COMMAND,
            "/usr/bin/vmstat 1 4",
            [
                "procs -----------memory---------- ---swap--",
                " r  b   swpd   free   buff  cache   si   so",
            ],
        )  # fmt: skip
        + _entry(
            COMMAND,
            "/usr/bin/free -k",
            [
                "               total        used        free      shared  buff/cache   available",
                f"Mem:    {total:>12} {total * 2 // 5:>11} {total // 2:>11} {10240:>11} "
                f"{total // 8:>11} {total * 3 // 5:>11}",
            ],
        )  # fmt: skip
        + _entry(CONF, "/proc/meminfo", meminfo_text(h, rng.uniform(0.3, 0.6)).splitlines())
        + _entry(CONF, "/proc/vmstat", [f"nr_free_pages {total // 8}", "nr_zone_inactive_anon 0"])
    ).encode()
    files["basic-environment.txt"] = _entry(
        COMMAND, "/bin/uname -a", [f"Linux {h.name} {h.kernel.release} #1 SMP x86_64 GNU/Linux"]
    ).encode()
    kernel = [m.t for m in msgs if m.ident == "kernel"]
    crash_at = h.boot + (max(kernel) if kernel else collected)
    start = max(h.boot, int(crash_at) - 86400 + 600)
    rows = sar_memory(rng, total_kb=total, start=start, end=int(crash_at), shape=shape)
    for name, data in sar_files(h, rows, clock24=True).items():
        day = name.rsplit("/", 1)[-1]
        files[f"sar/{day}"] = data
        files[f"sar/{day.replace('sar', 'sa')}"] = b"\x96\xd5" + rng.randbytes(4096)
    return top, files
