"""The artifact table: every path the reference names matches its artifact, and only it."""

from __future__ import annotations

import inspect
import sys

import pytest

from lostbeat.analyzer import artifacts
from lostbeat.analyzer.artifacts import ARTIFACTS, host_of, match, sniff_kind, top_folder
from lostbeat.analyzer.platforms import PROFILES, _esx_artifacts

# (bundle-relative path, artifact or None), from esx-artifacts.md §1.4, §3.2, §3.3, §5 and
# esxi-bundles.md (ESXi 5-8)
PATHS = [
    ("var/log/vmksummary", "vmksummary"),
    ("var/log/vmksummary.1", "vmksummary"),
    ("var/log/vmksummary.2.gz", "vmksummary"),
    ("var/log/vmksummary.d/vmksummary.1", "vmksummary"),
    ("var/log/vmkernel", "vmkernel_log"),
    ("var/log/vmkernel.1", "vmkernel_log"),
    ("var/log/vmkernel.12.gz", "vmkernel_log"),
    ("var/log/vmkwarning", "vmkernel_log"),
    ("var/log/vmkwarning.3", "vmkernel_log"),
    ("root/vmkernel-log.1", "vmkernel_log"),
    ("root/old_cores/vmkernel-log.1", "vmkernel_log"),
    ("var/core/vmkernel-log.2", "vmkernel_log"),
    ("psod.txt", "psod"),
    ("esx01-psod-photo.txt", "psod"),
    ("notes/PSOD.txt", "psod"),
    ("proc/meminfo", "meminfo"),
    ("etc/vmware/esx.conf", "esx_conf"),
    ("tmp/vmware.4711.txt", "version"),
    ("etc/vmware-release", "version"),
    ("proc/vmware/version", "version"),
    ("tmp/ps.4711.txt", "ps"),
    ("tmp/pstree.4711.txt", "pstree"),
    ("tmp/top.4711.txt", "top"),
    ("tmp/rpm.4711.txt", "packages"),
    ("root/vmkernel-zdump-111309.07.13.1", "coredumps"),
    ("root/old_cores/vmkernel-zdump-020609.04.40.1", "coredumps"),
    ("root/old_cores/cos-core-esx01.4711.core.gz", "coredumps"),
    ("var/core/vmkernel-zdump-031610.12.51", "coredumps"),
    ("vmfs/volumes/ds1/cos-core-esx01.1.core.gz", "coredumps"),
    ("screen.txt", "capture"),
    ("lost-heartbeat-web1-20261125T190102Z/screen.txt", "capture"),
    ("pre-loss-web1-20261125T190102Z/screen.txt", "capture"),
    ("manifest.json", "capture_manifest"),
    ("kernel-web1-20261125T190102Z-2/manifest.json", "capture_manifest"),
    ("var/lib/lostbeat/lostbeat-recording.json", "recording"),
    ("lostbeat-recording.json", "recording"),
    ("proc/4300/cmdline", "proc_file"),
    ("proc/4300/cgroup", "proc_file"),
    ("lost-heartbeat-web1-20261125T190102Z/proc/4300/cmdline", "proc_file"),
    # a sosreport (docs/reference/linux-logs.md §8)
    ("var/log/messages", "host_log"),
    ("var/log/messages-20240501", "host_log"),
    ("var/log/syslog", "host_log"),  # Debian's; ESXi's is syslog.log
    ("var/log/syslog.2.gz", "host_log"),
    ("var/log/syslog.log", "esx_log"),
    ("var/log/kern.log.2.gz", "host_log"),
    ("sos_commands/kernel/dmesg", "host_log"),
    ("sos_commands/logs/journalctl_--no-pager", "host_log"),
    ("sos_commands/process/ps_auxwww", "ps"),
    ("var/log/sa/sar01", "sar"),
    ("sos_commands/sar/sar30", "sar"),
    # ESXi 5-8 (esxi-bundles.md)
    ("var/run/log/vmkernel.log", "vmkernel_log"),
    ("var/run/log/vmkernel.3.gz", "vmkernel_log"),
    ("var/run/log/vmkwarning.log", "vmkernel_log"),
    ("var/log/vmkernel.log", "vmkernel_log"),
    ("vmkernel-log.1", "vmkernel_log"),  # vmkdump_extract's output
    ("var/run/log/hostd.log", "esx_log"),
    ("var/run/log/hostd.0.gz", "esx_log"),
    ("var/run/log/vpxa.log", "esx_log"),
    ("var/run/log/shell.log", "esx_log"),
    ("var/run/log/vobd.log", "esx_log"),
    ("var/run/log/logEFI.log", "esx_log"),
    ("var/log/hostd.log", "esx_log"),
    ("var/log/vmware/hostd-0.log", "esx_log"),  # ESX 4.x
    ("var/run/log/vmksummary.log", "vmksummary_log"),
    ("var/log/vmksummary.log", "vmksummary"),  # its parser hands ESXi's form on
    ("commands/vmware_-vl.txt", "version"),
    ("commands/localcli_software-vib-get.txt", "vibs"),
    ("commands/localcli_hardware-ipmi-sel-list.txt", "ipmi_sel"),
    ("var/core/vmkernel-zdump.1", "vmkernel_zdump"),  # read as text, and listed as a dump
    ("var/core/hostd-worker-zdump.000", "coredumps"),
    # neighbours that must not match
    ("var/log/sa/sa01", None),  # binary
    ("sos_commands/sar/sa01.xml", None),
    ("var/log/boot.log", None),
    ("var/log/vmkernel.d/x", None),  # * never crosses a folder
    ("var/run/log/auth.log", None),
    ("proc/meminfo.bak/x", None),
    ("tmp/vmware.txt", None),
    ("tmp/psx.4711.txt", None),
    ("etc/vmware/esx.conf.orig", None),
    ("x/proc/meminfo", None),  # paths are bundle-relative: no top folder left
    ("root/vmkernel-zdump", None),
    ("proc/self/cmdline", None),
    ("proc/4300/status", None),
    ("", None),
]


@pytest.mark.parametrize(("path", "expected"), PATHS)
def test_match(path: str, expected: str | None) -> None:
    assert match(path) == expected


def test_every_artifact_is_matched_by_some_path() -> None:
    assert {a for _, a in PATHS if a} == set(ARTIFACTS)


def test_table_shape() -> None:
    assert list(ARTIFACTS) == [
        "vmksummary",
        "vmkernel_log",
        "psod",
        "esx_log",
        "meminfo",
        "esx_conf",
        "version",
        "ps",
        "pstree",
        "top",
        "vmkernel_zdump",
        "coredumps",
        "packages",
        "vmksummary_log",
        "vibs",
        "ipmi_sel",
        "capture",
        "capture_manifest",
        "proc_file",
        "host_log",
        "sar",
        "recording",
    ]
    assert [n for n, a in ARTIFACTS.items() if not a.content] == ["coredumps"]
    assert [n for n, a in ARTIFACTS.items() if a.tail] == [
        "vmksummary",
        "vmkernel_log",
        "esx_log",
        "vmksummary_log",
        "host_log",
    ]
    assert [n for n, a in ARTIFACTS.items() if not a.many] == ["meminfo", "esx_conf"]
    assert all(a.doc and a.patterns for a in ARTIFACTS.values())


_OWN = ("capture", "capture_manifest", "proc_file", "recording")  # lostbeat's own: no §


def test_every_pattern_cites_its_source() -> None:
    """Each pattern has a comment on its line, or a comment line just before, citing the
    reference (a section of esx-artifacts.md, a source of esxi-bundles.md, a KB), in the
    profile or the table that owns it."""
    lines = [
        line
        for profile in PROFILES
        for line in inspect.getsource(sys.modules[type(profile).__module__]).splitlines()
    ] + inspect.getsource(_esx_artifacts).splitlines()
    for name, art in ARTIFACTS.items():
        for pattern in art.patterns:
            literal = pattern.replace(artifacts.RECORDING_MARKER, "{MARKER_NAME}")
            at = next(i for i, line in enumerate(lines) if f'"{literal}"' in line)
            before = lines[at - 1].strip()
            comment = lines[at].partition("  # ")[2] or (before[1:] if before[:1] == "#" else "")
            assert comment.strip(), (name, pattern)
            cites = ("§", "esxi-bundles.md", "KB ", "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8")
            assert name in _OWN or any(c in comment for c in cites), (name, pattern, comment)


@pytest.mark.parametrize(
    ("top", "host"),
    [
        ("vm-support-esx01-2010-03-16--12.51.4711", "esx01"),
        ("vm-support-esx-01.lab-2010-03-16--12.51.4711", "esx-01.lab"),
        ("vm-support-unknown-host-2010-03-16--12.51.4711", "unknown-host"),
        ("vm-support-esx01-2010-03-16.4711", "esx01"),
        ("vm-support-esx01", None),
        ("vm-support--2010-03-16--12.51.4711", None),
        ("esx-2010-03-16--12.51.4711", None),
        ("lost-heartbeat-web1-20261125T190102Z", "web1"),
        ("lost-heartbeat-web-1.lab-20261125T190102Z", "web-1.lab"),
        ("lost-heartbeat-web1", None),
        ("kernel-web1-20261125T190102Z-2", "web1"),
        ("bundle", None),
    ],
)
def test_host_of(top: str, host: str | None) -> None:
    assert host_of(top) == host


@pytest.mark.parametrize(
    ("first", "is_dir", "top"),
    [
        (
            "vm-support-esx01-2010-03-16--12.51.4711",
            True,
            "vm-support-esx01-2010-03-16--12.51.4711",
        ),
        (
            "vm-support-esx01-2010-03-16--12.51.4711/var/log/vmksummary",
            False,
            "vm-support-esx01-2010-03-16--12.51.4711",
        ),
        ("my-bundle/proc/meminfo", False, "my-bundle"),
        ("var/log/vmksummary", False, None),
        ("var", True, None),
        ("proc/meminfo", False, None),
        ("psod.txt", False, None),
    ],
)
def test_top_folder(first: str, is_dir: bool, top: str | None) -> None:
    assert top_folder(first, is_dir=is_dir) == top


# realistic starts of each kind, from esx-artifacts.md (KB 308590, 1009016, 1019238, §3, §8)
# and, for the capture, the screen lostbeat's monitor writes (lostbeat/agent/screen.py)
SAMPLES = {
    "psod": (
        "VMware ESX Server [Releasebuild-123630]\n"
        "Lost heartbeat\n"
        "frame=0x1f4fa34 ip=0xc014b306 cr2=0xb6bc5054 cr3=0x34401000 cr4=0x6f0\n"
        "*0:1024/console 1:1367/vmware-vm 2:1125/vcpu-0:VM 3:1351/vmware-vm\n"
        "@BlueScreen: Lost heartbeat\n"
        "VMK uptime: 42:14:03:58.308 TSC: 11010722567976450\n"
        "42:14:02:29.347 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat "
        "(comm=vmnixhbd pid=20 t=29 to=30 clt=1).\n"
    ),
    "vmksummary": (
        "Sep 1 02:01:09 vsphere5 logger: (1251788469) hb: vmk loaded, 3597562.98, "
        "3597450.113, 13, 164009, 164009, 356, vmware-h-79976, vpxa-54148, sfcbd-12600\n"
        "Sep 1 04:26:35 vsphere5 vmkhalt: (1251797195) Starting system...\n"
    ),
    "vmkernel_log": (
        "42:14:02:29.347 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat "
        "(comm=vmnixhbd pid=20 t=29 to=30 clt=1).\n"
        "42:14:03:29.508 cpu0:1024)Host: 4781: COS Error: Lost heartbeat\n"
    ),
    "meminfo": "MemTotal:799732 kB\nHighTotal:0 kB\nLowTotal:799732 kB\nSwapTotal:554168 kB\n",
    "esx_conf": '/adv/Misc/HostName = "esx01"\n/adv/Misc/PsodOnCosPanic = "1"\n',
    "version": "VMware ESX Server 3.5.0 build-153875\n",
    "ps": (
        "USER       PID %CPU %MEM   VSZ  RSS TTY      STAT START   TIME COMMAND\n"
        "root         1  0.0  0.1  1952  560 ?        S    Mar16   0:01 init [3]\n"
        "root      3588  1.2 45.1 586196 360000 ?     Sl   Mar16  12:01 /usr/sbin/cimserver\n"
    ),
    "capture_manifest": (
        '{\n "complete": true,\n "declared_utc": "2026-11-25T19:01:02.123Z",\n'
        ' "host": "web1",\n "schema": "lostbeat.capture/1",\n "trigger": "pre-loss"\n}\n'
    ),
    "capture": (
        "lostbeat 0.1.0 [Linux 6.1.0-28-amd64 x86_64] host=web1\n"
        "Lost heartbeat\n"
        "*0:812/lostbeat 1:4242/python3\n"
        "@BlueScreen: Lost heartbeat (comm=lostbeat-hbd pid=4242 t=5 to=5 clt=1)\n"
        "Uptime: 0:00:12:31.042\n"
    ),
    "pstree": "init,1\n  |-cimserver,3588\n  |   `-{cimserver},3590\n  `-vmware-hostd,2999\n",
    # ESXi (esxi-bundles.md): KB 2004566's leaderboard, elatov.github.io's hostd.log, KB 394465
    "vmksummary_log": (
        "2011-08-30T04:00:01Z heartbeat: up 0d17h24m17s, 0 VMs; [[3411 sfcb-pycim 12516kB]]\n"
    ),
    "esx_log": (
        "2013-08-12T13:48:25.650Z [6FE81B90 info 'ha-eventmgr'] Event 8573 : The file table of "
        "the ramdisk 'root' is full.\n"
    ),
    "ipmi_sel": "Record:18318:\n When: 2025-03-14T10:54:53\n Message: Assert + Processor\n",
    "vibs": (
        "Name     Version                     Vendor  Acceptance Level  Install Date\n"
        "-------  --------------------------  ------  ----------------  ------------\n"
        "lpfc     12.8.298.1-1OEM.700.1.0.15843807  EMU  VMwareCertified   2021-01-04\n"
    ),
    "top": (
        "top - 12:51:04 up 42 days,  3:10,  1 user,  load average: 0.10, 0.20, 0.30\n"
        "Tasks:  73 total,   1 running,  72 sleeping,   0 stopped,   0 zombie\n"
        "Mem:    799732k total,   790000k used,     9732k free,     1000k buffers\n"
        "Swap:   554168k total,   554168k used,        0k free,    20000k cached\n"
        "\n"
        "  PID USER      PR  NI  VIRT  RES  SHR S %CPU %MEM    TIME+  COMMAND\n"
        " 3588 root      15   0  572m 351m 2000 S  1.2 45.1  12:01.00 cimserver\n"
    ),
    "host_log": "[ 7063.247407] Memory cgroup out of memory: Killed process 63214 (uwsgi)\n",
    "sar": "Linux 5.14.0-362.el9.x86_64 (web01) \t05/01/2024 \t_x86_64_\t(4 CPU)\n",
    "packages": "glibc-2.3.4-2.41\nVMware-esx-3.5.0-153875\nhp-snmp-agents-8.2.0-164.rhel4\n",
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_sniff_kind(kind: str) -> None:
    assert sniff_kind(SAMPLES[kind]) == kind


def test_every_content_artifact_but_the_recording_can_be_sniffed() -> None:
    # a recording is a folder, and /proc files and zdumps say what they are only by their path
    content = {n for n, a in ARTIFACTS.items() if a.content} - {
        "recording",
        "proc_file",
        "vmkernel_zdump",
    }
    assert set(SAMPLES) == content


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello world\n",
        "Nov 13 03:01:35 esx01 sshd[1]: Accepted password for root\n",
        "MemTotal: 1 kB and more words\n",
    ],
)
def test_sniff_kind_unknown(text: str) -> None:
    assert sniff_kind(text) is None
