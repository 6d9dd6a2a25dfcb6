"""vmware-leak seed 0 is KB 308590's incident, with the article's very figures."""

from __future__ import annotations

import re

from lostbeat.scenarios import GeneratedCase
from lostbeat.scenarios.model import CauseKind, CrashType, Origin
from tests.scenarios.helpers import crashed_boot, entries, members

KB_LINES = (
    "Nov 13 03:01:35 esxhostname logger: (1258099291) hb: vmk loaded, 11795301.25, "
    "11795288.970, 73, 153875, 153875, 567468032, VMap-583524, vmware-h-82812, webAcces-27332",
    "Nov 13 04:01:45 esxhostname logger: (1258102905) hb: vmk loaded, 11798915.64, "
    "11798902.253, 73, 153875, 153875, 567468032, VMap-586196, vmware-h-83180, webAcces-27292",
)


def test_the_articles_summary_lines_and_memory(article: GeneratedCase) -> None:
    top, files = members(article.bundle)
    assert top.startswith("vm-support-esxhostname-2009-11-13--")
    lines = entries(files)
    texts = [e.text for e in lines]
    i = texts.index(KB_LINES[0])
    assert texts[i + 1] == KB_LINES[1]
    assert texts[i + 2] == "Nov 13 07:13:58 esxhostname vmkhalt: (1258114439) Starting system..."
    assert lines[i + 3].kind == "VMkernel error"
    meminfo = files["proc/meminfo"].decode()
    assert re.search(r"^MemTotal:\s+799732 kB$", meminfo, re.M)
    assert re.search(r"^SwapTotal:\s+554168 kB$", meminfo, re.M)
    # "100% of swap was consumed (567468032 bytes ... of 554168KB)"
    assert 554168 * 1024 == 567468032
    assert "root/vmkernel-zdump-111309.07.13.1" in files
    assert "root/old_cores/cos-core-esxhostname.123.core.gz" in files


def test_the_articles_truth(article: GeneratedCase) -> None:
    t = article.truth
    assert (t.crash_type, t.root_cause_kind) == (CrashType.LOST_HEARTBEAT, CauseKind.LEAK)
    assert (t.culprit, t.origin, t.known_issues) == ("VMap", Origin.VMWARE, ())
    assert (t.build, t.release, t.cos_ram_mb, t.swap_mb) == (153875, "ESX 3.5 Update 4", 800, 541)
    assert t.action_kbs == ("653",)
    assert t.crashed_at is not None and 1258102905 < t.crashed_at < 1258114439


def test_vmap_grows_through_the_history(article: GeneratedCase) -> None:
    assert article.truth.crashed_at is not None
    _, files = members(article.bundle)
    boot = crashed_boot(entries(files), article.truth.crashed_at)
    vmap = [kb for e in boot for token, kb in e.top if token == "VMap"]
    assert vmap[-1] == 586196 and vmap[-2] == 583524
    assert vmap[0] < 300000
    assert all(e.vms == 73 for e in boot[-2:])


def test_the_screen_names_vmap_as_the_last_alert(article: GeneratedCase) -> None:
    _, files = members(article.bundle)
    log = files["root/vmkernel-log.1"].decode().splitlines()
    assert log[-3].endswith("(comm=vmnixhbd pid=20 t=29 to=30 clt=1).") or "t=29" in log[-4]
    assert any(ln.endswith("(comm=VMap pid=9173 t=30 to=30 clt=1).") for ln in log)
    screen = [e for e in article.extras if e.name == "psod.txt"]
    assert screen and "VMware ESX Server [Releasebuild-153875]" in screen[0].read_text()
