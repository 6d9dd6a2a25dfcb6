"""End to end: real tar bundles built here, analysed through the engine and the CLI."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import time
from pathlib import Path

import pytest

from lostbeat.analyzer.engine import analyze
from lostbeat.cli import main
from lostbeat.errors import InputError

TOP = "vm-support-esxhostname-2009-11-13--09.12.4711"
LAST_EPOCH = 1258102905  # the article's last line: Nov 13 04:01:45 (UTC-5)


def hb_line(epoch: int, top: list[tuple[str, int]], swap: int, uptime: float) -> str:
    stamp = time.strftime("%b %d %H:%M:%S", time.gmtime(epoch - 5 * 3600 + 4))
    tokens = ", ".join(f"{name}-{kb}" for name, kb in top)
    return (
        f"{stamp} esxhostname logger: ({epoch}) hb: vmk loaded, {uptime + 12.3:.2f}, "
        f"{uptime:.3f}, 73, 153875, 153875, {swap}, {tokens}"
    )


def article_history(hours: int = 60) -> str:
    """VMap grows steadily to the article's 586196 KB while swap fills to 567468032 bytes."""
    lines = []
    for h in range(hours):
        epoch = LAST_EPOCH - (hours - 1 - h) * 3600
        vmap = 586196 - (hours - 1 - h) * 7000 + ((hours - 1 - h) % 3) * 800
        swap = max(0, 567468032 - (hours - 1 - h) * 9_400_000) // 4096 * 4096
        uptime = 11798902.253 - (hours - 1 - h) * 3600
        top = sorted(
            [
                ("VMap", vmap),
                ("vmware-h", 83180 - (h % 4) * 90),
                ("webAcces", 27292 + (h % 5) * 10),
            ],
            key=lambda c: -c[1],
        )
        lines.append(hb_line(epoch, top, swap, uptime))
    lines.append("Nov 13 07:13:58 esxhostname vmkhalt: (1258114439) Starting system...")
    lines.append("Nov 13 07:14:09 esxhostname logger: (1258114449) VMkernel error")
    lines.append("Nov 13 07:15:02 esxhostname logger: (1258114502) loaded VMkernel")
    lines.append(
        hb_line(1258117295, [("vmware-h", 61000), ("VMap", 48000), ("webAcces", 26000)], 0, 2800.0)
    )
    return "\n".join(lines) + "\n"


SCREEN = """VMware ESX Server [Releasebuild-153875]
Lost heartbeat
@BlueScreen: Lost heartbeat
VMK uptime: 136:13:58:22.253 TSC: 11010722567976450
136:13:57:22.100 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat (comm=vmnixhbd pid=20 t=29 to=30 clt=1).
136:13:58:22.100 cpu0:1024)VMNIX: ALERT: HB: 365: Lost heartbeat (comm=VMap pid=9173 t=30 to=30 clt=1).
136:13:58:22.200 cpu0:1024)Host: 4781: COS Error: Lost heartbeat
"""

PS = """USER       PID %CPU %MEM   VSZ  RSS TTY      STAT START   TIME COMMAND
root         1  0.0  0.0  1960  640 ?        S    07:13   0:01 init [3]
root      1234  0.3  6.1 61000 48800 ?       Sl   07:16   0:30 /usr/lib/vmware/hostd/vmware-hostd -u
root      2345  0.1  5.0 48000 40000 ?       Sl   07:16   0:10 /opt/LGTOaam512/bin/VMap
root      3456  0.1  3.0 26000 24000 ?       Sl   07:16   0:10 /usr/lib/vmware/webAccess/java/jre1.5.0_15/bin/webAccess
"""


def bundle(tmp_path: Path, files: dict[str, bytes], name: str = "esx-2009-11-13.tgz") -> Path:
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as tar:
        for member, data in files.items():
            info = tarfile.TarInfo(f"{TOP}/{member}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def article_files() -> dict[str, bytes]:
    history = article_history().encode()
    return {
        "var/log/vmksummary.1.gz": gzip.compress(
            history[: len(history) // 2].rsplit(b"\n", 1)[0] + b"\n"
        ),
        "var/log/vmksummary": history[len(history) // 2 :].split(b"\n", 1)[1],
        "proc/meminfo": b"MemTotal:799732 kB\nHighTotal:0 kB\nLowTotal:799732 kB\n"
        b"SwapTotal:554168 kB\nSwapFree:554168 kB\n",
        "etc/vmware/esx.conf": b'/adv/Misc/HostName = "esxhostname"\n'
        b'/adv/Misc/CosCorefile = "/vmfs/volumes/4533e089/cos-core-esx"\n',
        "tmp/ps.4711.txt": PS.encode(),
        "tmp/vmware.4711.txt": b"VMware ESX Server 3.5.0 build-153875\n",
        "root/vmkernel-zdump-111309.07.13.1": b"\x00zdump" * 100,
        "root/old_cores/cos-core-esx.2.core.gz": gzip.compress(b"core"),
        "var/log/messages": b"Nov 13 07:20:00 esxhostname sshd[1]: unrelated\n" * 50,
    }


def test_the_articles_incident_end_to_end(tmp_path: Path) -> None:
    tgz = bundle(tmp_path, article_files())
    screen = tmp_path / "psod.txt"
    screen.write_text(SCREEN)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = analyze([tgz, screen])
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
    assert result.host == "esxhostname"
    assert result.crash.type.value == "lost_heartbeat"
    assert (result.crash.build, result.crash.release) == (153875, "ESX 3.5 Update 4")
    assert result.crash.vms_affected == 73
    assert result.root_cause.kind.value == "leak"
    assert (result.root_cause.process, result.root_cause.token) == ("VMap", "VMap")
    assert result.root_cause.origin is not None and result.root_cause.origin.value == "vmware"
    assert result.root_cause.rate_kb_per_hour == pytest.approx(7000, rel=0.1)
    assert result.memory.swap_used_percent == 100.0
    assert result.memory.top_process_ram_percent == 73.3
    assert result.coredumps.vmkernel == ("root/vmkernel-zdump-111309.07.13.1",)
    assert result.coredumps.cos == ("root/old_cores/cos-core-esx.2.core.gz",)
    assert result.coredumps.cos_core_file_valid is True
    assert [a.kb for a in result.actions if a.kb] == ["653"]
    # the crash is placed from the uptimes: the screen's 136:13:58:22.253 is 1800 s past the
    # last line's VMkernel uptime (11798902.253 s), and t=30 puts the last beat 30 min earlier
    assert result.crash.crashed_at == pytest.approx(LAST_EPOCH + 1800, abs=1)
    assert result.crash.heartbeat_stopped_at == pytest.approx(LAST_EPOCH, abs=1)
    kinds = [e.kind for e in result.timeline]
    assert "vmkernel_error" in kinds and "boot" in kinds
    assert len(result.history.consumers) >= 3
    # vmksummary's sizes are virtual: the verdict says what VMap held, never a date after the
    # crash (KB 308590's 586196 KB of 799732 KB)
    assert result.root_cause.exhaustion_at is None and result.history.projection == ()
    assert result.root_cause.held_kb == 586196 and result.root_cause.held_percent == 73.3
    assert result.platform.name == "esx_classic"


def test_cli_json_contract_and_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tgz = bundle(tmp_path, article_files())
    assert main(["analyze", str(tgz), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "lostbeat.analysis/2"
    for key in ("type", "build", "release"):
        assert key in doc["crash"]
    for key in ("kind", "process", "token", "origin", "confidence"):
        assert key in doc["root_cause"]
    assert {"swap_used_percent", "top_process_ram_percent"} <= set(doc["memory"])
    assert {"vmkernel", "cos", "cos_core_file", "cos_core_file_valid"} <= set(doc["coredumps"])
    assert all({"kb", "text"} <= set(a) for a in doc["actions"])
    assert all("evidence" in f for f in doc["findings"])
    assert {i["status"] for i in doc["inputs"]} <= {"read", "skipped", "broken"}


def test_a_broken_artifact_is_listed_and_the_rest_analysed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = article_files()
    files["proc/meminfo"] = b"this is not meminfo\n\x00\x01\n"
    tgz = bundle(tmp_path, files)
    result = analyze([tgz])
    broken = [i for i in result.inputs if i.status.value == "broken"]
    assert [i.path for i in broken] == ["proc/meminfo"]
    assert "proc/meminfo:1" in broken[0].reason
    assert result.root_cause.kind.value == "leak"
    assert main(["analyze", str(tgz), "--strict"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "proc/meminfo:1" in err and "Traceback" not in err


def test_no_readable_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "garbage.tgz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage" * 10)
    assert main(["analyze", str(bad), str(tmp_path / "missing.tgz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "garbage.tgz" in err
    with pytest.raises(InputError):
        analyze([bad])


def test_clean_history_is_no_crash(tmp_path: Path) -> None:
    lines = [
        hb_line(1258000000 + h * 3600, [("vmware-h", 60000), ("vpxa", 20000)], 0, 1000.0 + h * 3600)
        for h in range(10)
    ]
    lines.append("Nov 13 07:13:58 esxhostname vmkhalt: (1258040000) Rebooting system...")
    lines.append("Nov 13 07:15:58 esxhostname vmkhalt: (1258040120) Starting system...")
    tgz = bundle(tmp_path, {"var/log/vmksummary": ("\n".join(lines) + "\n").encode()})
    result = analyze([tgz])
    assert result.crash.type.value == "none"
    assert result.root_cause.kind.value == "not_memory"
    assert result.actions == ()


def test_a_linux_capture_lists_its_cores_and_plans_without_vmware(tmp_path: Path) -> None:
    capture = tmp_path / "lost-heartbeat-web1-20261125T190102Z"
    (capture / "cores").mkdir(parents=True)
    (capture / "screen.txt").write_text(
        "lostbeat 0.1.0 [Linux 6.1.0 x86_64] host=web1\nLost heartbeat\n"
        "@BlueScreen: Lost heartbeat (comm=lostbeat-hbd pid=42 t=5 to=5 clt=1)\n"
        "Declared: 2026-11-25T19:01:02.000Z\n"
        "Cgroup: v1 /sim usage=268435456 limit=268435456 under_oom=1\n"
        "Top consumers (cgroup /sim):\n"
        "     PID COMM             S     RSS_KB    SWAP_KB  GROWTH_KB WCHAN\n"
        "    4300 leaker           D     240000          0     +20480 -\n"
    )
    (capture / "cores" / "core.leaker.4300").write_bytes(b"\x7fELF")
    result = analyze([capture])
    assert result.crash.type.value == "lost_heartbeat"
    assert result.crash.release == "Linux 6.1.0"
    # the capture's cores are no Service Console cores: they are listed in Linux words
    assert result.coredumps.cos == () and result.coredumps.vmkernel == ()
    assert [(d.label, d.paths) for d in result.coredumps.dumps] == [
        ("core dumps of the top consumers", ("cores/core.leaker.4300",))
    ]
    assert result.coredumps.settings == ()
    assert result.platform.name == "linux"
    assert result.platform.domain == "the watched cgroup /sim"
    assert {f.id for f in result.findings} & {
        "coredumps.vmkernel_missing",
        "coredumps.cos_missing",
    } == set()
    assert all("VMware" not in a.text and a.kb is None for a in result.actions)
    assert result.memory.top_process == "leaker"
    assert result.memory.top_process_ram_percent == 91.6  # 240000 of 262144 kB


def test_members_without_any_listed_name_are_still_analysed() -> None:
    from lostbeat.analyzer.engine import analyze_collected
    from lostbeat.analyzer.sources import Collected, Member

    screen = Member("psod.txt", "psod", SCREEN.encode())
    result = analyze_collected([Collected((screen,), (), (), None)])
    assert result.crash.type.value == "lost_heartbeat"
    assert result.errors == ()
